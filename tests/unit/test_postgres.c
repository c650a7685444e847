/*
 * Unit tests for plugins/quiesce/postgres/: the WAL file arithmetic, the
 * options and the filter, then the plugin against a real PostgreSQL 15
 * server started
 * here (initdb with 1 MiB WAL segments and pg_wal symlinked elsewhere, a
 * tablespace, a private port and socket directory under /var/tmp), run as
 * the postgres user and removed on every exit path.
 *
 * "Backup running" is checked two ways: the held session is in
 * pg_stat_activity with pg_backup_start as its last statement, and the
 * server's own counter of running backups is visible through its effect:
 * with full_page_writes = off the server still writes full-page images
 * while a backup runs, so an update after a checkpoint carries one.
 */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mountinfo.h"
#include "plugins/quiesce/postgres/postgres.h"
#include "tests/lib/tap.h"

#define PGBIN "/usr/lib/postgresql/15/bin/"

static char tmp[64], sock[128], datadir[128], waldir[128], tsdir[128], cmdlog[128];
static char conn_ok[512];
static int port;
static pid_t owner, running;	/* the test process; the command running */
static bool started;
static PGconn *admin;

/* Runs argv as the postgres user in tmp, output into tmp/cmd.log. */
static int run(const char *const *argv)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(cmdlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		setpgid(0, 0);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || chdir(tmp) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	running = pid;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	running = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void cleanup(void)
{
	const char *stop[] = { "runuser", "-u", "postgres", "--", PGBIN "pg_ctl", "-D", datadir,
			       "-m", "immediate", "-w", "stop", NULL };
	const char *rm[] = { "rm", "-rf", tmp, NULL };

	if (getpid() != owner || !tmp[0])
		return;
	/* A signal during initdb: end it (its own process group) first. */
	if (running > 0) {
		kill(-running, SIGKILL);
		waitpid(running, NULL, 0);
		running = 0;
	}
	if (admin)
		PQfinish(admin);
	admin = NULL;
	if (started)
		run(stop);
	started = false;
	run(rm);
	tmp[0] = '\0';
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int start_server(void)
{
	const char *initdb[] = { "runuser", "-u", "postgres", "--", PGBIN "initdb", "-D", datadir,
				 "-X", waldir, "--wal-segsize=1", "-U", "postgres",
				 "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", NULL };
	const char *start[] = { "runuser", "-u", "postgres", "--", PGBIN "pg_ctl", "-D", datadir,
				"-l", NULL, "-w", "-t", "60", "start", NULL };
	struct passwd *pw = getpwnam("postgres");
	char conf[256], path[256], serverlog[256];

	snprintf(path, sizeof(path), "%s/postgresql.conf", datadir);
	snprintf(serverlog, sizeof(serverlog), "%s/server.log", tmp);
	start[8] = serverlog;
	snprintf(conf, sizeof(conf),
		 "port = %d\nunix_socket_directories = '%s'\nlisten_addresses = '127.0.0.1'\n"
		 "full_page_writes = off\nfsync = off\nmin_wal_size = 8MB\n", port, sock);
	if (!pw || chown(tmp, pw->pw_uid, pw->pw_gid) < 0 || mkdir(sock, 0700) < 0 ||
	    chown(sock, pw->pw_uid, pw->pw_gid) < 0 || mkdir(tsdir, 0700) < 0 ||
	    chown(tsdir, pw->pw_uid, pw->pw_gid) < 0)
		return -1;
	if (run(initdb) != 0 || append(path, conf) < 0)
		return -1;
	started = true;
	return run(start) == 0 ? 0 : -1;
}

static int sql(const char *text)
{
	PGresult *r = PQexec(admin, text);
	int ok_ = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok_)
		diag("%s: %s", text, PQerrorMessage(admin));
	PQclear(r);
	return ok_ ? 0 : -1;
}

/* The first value of a query on the admin session as a number, -1 on error. */
static long long sql_num(const char *text, const char *param)
{
	const char *params[1] = { param };
	PGresult *r = PQexecParams(admin, text, param ? 1 : 0, NULL, params, NULL, NULL, 0);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		diag("%s: %s", text, PQerrorMessage(admin));
	PQclear(r);
	return v;
}

/* Bytes of full-page images an update after a checkpoint writes: > 0 only
 * while the server counts a running backup (full_page_writes is off). */
static long long fpi_bytes(void)
{
	PGresult *r;
	char a[32] = "", b[32] = "";
	const char *params[2] = { a, b };
	long long v = -1;

	if (sql("CHECKPOINT") < 0)
		return -1;
	r = PQexec(admin, "SELECT pg_current_wal_insert_lsn()");
	snprintf(a, sizeof(a), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	if (sql("UPDATE fpi_probe SET i = i + 1") < 0)
		return -1;
	r = PQexec(admin, "SELECT pg_current_wal_flush_lsn()");
	snprintf(b, sizeof(b), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	r = PQexecParams(admin, "SELECT coalesce(sum(fpi_length), 0) FROM"
			 " pg_get_wal_records_info($1, $2)", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		diag("pg_get_wal_records_info: %s", PQerrorMessage(admin));
	PQclear(r);
	return v;
}

static long long backup_sessions(int pid)
{
	char p[16];

	snprintf(p, sizeof(p), "%d", pid);
	return sql_num("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int"
		       " AND backend_type = 'client backend' AND state = 'idle'"
		       " AND query LIKE 'SELECT pg_backup_start(%'", p);
}

static long long sessions(int pid)
{
	char p[16];

	snprintf(p, sizeof(p), "%d", pid);
	return sql_num("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", p);
}

static long long slots(const char *name)
{
	return sql_num("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1"
		       " AND temporary", name);
}

/* Waits up to 10 s for the session of pid to disappear. */
static long long wait_gone(int pid)
{
	long long n = -1;

	for (int i = 0; i < 100 && (n = sessions(pid)) != 0; i++)
		usleep(100 * 1000);
	return n;
}

/* The options a test hands the plugin: "mode" and "pg-conn" ("checkpoint"
 * is fast; tests/integration/87-pace.t runs the spread one). */
struct test_options {
	const char *mode, *conninfo;
};

static const char *test_option(const void *ctx, const char *name)
{
	const struct test_options *o = ctx;

	if (strcmp(name, "mode") == 0)
		return o->mode;
	if (strcmp(name, "checkpoint") == 0)	/* immediate: tests do not wait minutes */
		return "fast";
	return strcmp(name, "pg-conn") == 0 ? o->conninfo : NULL;
}

/* Opens the plugin as the runner does, with these options. */
static int pg_open(struct mb_quiesce *q, const char *conninfo, const char *mode,
		   const char *label, struct mb_error *e)
{
	const struct test_options o = { .mode = mode, .conninfo = conninfo };
	const struct mb_quiesce_params params = { .option = test_option, .ctx = &o,
						  .label = label };

	*q = (struct mb_quiesce){ .ops = &mb_quiesce_postgres };
	return q->ops->open(q, &params, e);
}

/* open, discover and prepare: what the runner does before the window. */
static int pg_ready(struct mb_quiesce *q, const char *conninfo, const char *mode,
		    const char *label, struct mb_error *e)
{
	if (pg_open(q, conninfo, mode, label, e) < 0 || q->ops->discover(q, e) < 0)
		return -1;
	return q->ops->prepare(q, e);
}

/* A whole hot bracket with this conninfo; returns the first error. */
static struct mb_error try_prepare(const char *conninfo, const char *label)
{
	struct mb_quiesce q;
	struct mb_error e = { 0 };

	if (pg_ready(&q, conninfo, "hot", label, &e) == 0 && q.ops->enter(&q, &e) == 0 &&
	    q.ops->leave(&q, &e) == 0 && !mb_pg_backup_result(&q))
		mb_fail(&e, MB_ERR_INTERNAL, 0, "no backup result");
	q.ops->close(&q);
	return e;
}

/* Checks the listed names against want (NULL-terminated). */
static void is_segments(uint32_t tli, uint64_t start, uint64_t stop, uint64_t seg,
			const char *const *want, const char *name)
{
	struct mb_error e = { 0 };
	char **v = NULL, got[1024] = "", exp[1024] = "";
	size_t n = 0;

	if (mb_pg_wal_segments(tli, start, stop, seg, &v, &n, &e) < 0)
		snprintf(got, sizeof(got), "error: %.900s", e.msg);
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", v[i]);
	for (size_t i = 0; want[i]; i++)
		snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), "%s%s", i ? " " : "", want[i]);
	is_str(got, exp, name);
	mb_pg_wal_segments_free(v, n);
}

static void test_wal_arithmetic(void)
{
	struct mb_error e = { 0 };
	char **v = NULL;
	size_t n = 9;

	is_segments(1, 0x3000028, 0x3000100, 16 << 20,
		    (const char *[]){ "000000010000000000000003", NULL }, "16 MiB: one segment");
	is_segments(1, 0x2000028, 0x4000000, 16 << 20,
		    (const char *[]){ "000000010000000000000002", "000000010000000000000003", NULL },
		    "16 MiB: stop on a boundary ends in the segment before");
	is_segments(1, 0x2000028, 0x4000001, 16 << 20,
		    (const char *[]){ "000000010000000000000002", "000000010000000000000003",
				      "000000010000000000000004", NULL },
		    "16 MiB: one byte past the boundary takes the next segment");
	is_segments(1, 0x3000000, 0x3000000, 16 << 20,
		    (const char *[]){ "000000010000000000000003", NULL },
		    "16 MiB: start = stop on a boundary is the start segment");
	is_segments(0x1A, 0xFF000028ULL, 0x100000100ULL, 16 << 20,
		    (const char *[]){ "0000001A00000000000000FF", "0000001A0000000100000000", NULL },
		    "16 MiB: crossing into the next log id, hex timeline");
	is_segments(1, 0x140000000ULL, 0x180000010ULL, 1ULL << 30,
		    (const char *[]){ "000000010000000100000001", "000000010000000100000002", NULL },
		    "1 GiB segments: four per log id");
	is_segments(3, 0x5FC000000ULL, 0x5FC000000ULL + 1, 64 << 20,
		    (const char *[]){ "00000003000000050000003F", NULL },
		    "64 MiB segments: last segment of a log id");
	is_segments(1, 0x8000000, 0xC123456, 64 << 20,
		    (const char *[]){ "000000010000000000000002", "000000010000000000000003", NULL },
		    "64 MiB segments: two");
	is_segments(1, 0xABC00000ULL, 0xABD00000ULL, 1 << 20,
		    (const char *[]){ "000000010000000000000ABC", NULL },
		    "1 MiB segments: stop on the next boundary");
	ok(mb_pg_wal_segments(1, 0, 1, 3 << 20, &v, &n, &e) == -1 && v == NULL && n == 0,
	   "a segment size that is not a power of two is refused");
	is_str(e.msg, "invalid WAL segment size 3145728", "its message");
	mb_error_clear(&e);
	mb_pg_wal_segments(1, 0x5000000, 0x4000000, 16 << 20, &v, &n, &e);
	is_str(e.msg, "invalid WAL range 5000000..4000000 on timeline 1", "stop before start");

}

static void test_lsn_and_conninfo(void)
{
	char buf[512];
	uint64_t lsn = 0;

	ok(mb_pg_parse_lsn("16/B374D848", &lsn) == 0 && lsn == 0x16B374D848ULL, "parse an LSN");
	ok(mb_pg_parse_lsn("16/B374D848x", &lsn) == -1 && mb_pg_parse_lsn("", &lsn) == -1 &&
	   mb_pg_parse_lsn("1/123456789", &lsn) == -1, "malformed LSNs are refused");

	mb_pg_conninfo_redact("host=/tmp port=5432 user=u password=s3cret dbname=d", buf, sizeof(buf));
	is_str(buf, "user=u dbname=d host=/tmp port=5432", "the conninfo is logged without its password");
	mb_pg_conninfo_redact("postgresql://u:s3cret@localhost:5433/db?application_name=ab", buf,
			      sizeof(buf));
	ok(!strstr(buf, "s3cret") && strstr(buf, "user=u") && strstr(buf, "port=5433"),
	   "a URI is logged without its password");
	mb_pg_conninfo_redact("application_name='it\\'s' user=x", buf, sizeof(buf));
	is_str(buf, "user=x application_name='it\\'s'", "values are quoted as conninfo wants");
}

/* Options at open, and the filter, need no server. */
static void test_open_and_filter(void)
{
	static const struct { const char *path; enum mb_quiesce_keep hot, freeze; } rules[] = {
		{ "postmaster.pid", MB_QUIESCE_DROP, MB_QUIESCE_DROP },
		{ "backup_label", MB_QUIESCE_DROP, MB_QUIESCE_DROP },
		{ "backup_manifest", MB_QUIESCE_DROP, MB_QUIESCE_DROP },
		{ "base/1/pg_internal.init", MB_QUIESCE_DROP, MB_QUIESCE_DROP },
		{ "pg_stat_tmp", MB_QUIESCE_KEEP, MB_QUIESCE_KEEP },
		{ "pg_stat_tmp/global.stat", MB_QUIESCE_DROP, MB_QUIESCE_DROP },
		{ "pg_replslot/s/state", MB_QUIESCE_DROP, MB_QUIESCE_DROP },
		{ "pg_wal", MB_QUIESCE_AS_DIR, MB_QUIESCE_AS_DIR },
		{ "pg_wal/000000010000000000000003", MB_QUIESCE_DROP, MB_QUIESCE_KEEP },
		{ "pg_wal/archive_status", MB_QUIESCE_KEEP, MB_QUIESCE_KEEP },
		{ "base/1/1259", MB_QUIESCE_KEEP, MB_QUIESCE_KEEP },
		{ "sub/postmaster.pid", MB_QUIESCE_KEEP, MB_QUIESCE_KEEP },
	};
	struct mb_quiesce hot, freeze, bad;
	struct mb_error e = { 0 };
	int wrong = 0;

	ok(pg_open(&hot, "host=/x", NULL, NULL, &e) == 0 && pg_open(&freeze, NULL, "freeze", NULL, &e) == 0,
	   "open takes the options (mode unset: hot)");
	ok(mb_pg_info(&hot) == NULL, "nothing is discovered at open");
	pg_open(&bad, NULL, "lukewarm", NULL, &e);
	is_int(e.code, MB_ERR_USAGE, "an invalid --mode is a usage error");
	is_str(e.msg, "invalid --mode 'lukewarm'", "its message");
	is_str(e.hint, "use hot (backup mode, the WAL as redo log) or freeze (checkpoint + freeze)",
	       "its hint");
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (hot.ops->filter(&hot, rules[i].path) != rules[i].hot ||
		    freeze.ops->filter(&freeze, rules[i].path) != rules[i].freeze) {
			diag("filter of '%s' is wrong", rules[i].path);
			wrong++;
		}
	is_int(wrong, 0, "the filter keeps, drops and rewrites as the cluster needs (hot, freeze)");
	hot.ops->close(&hot);
	freeze.ops->close(&freeze);
	bad.ops->close(&bad);
}

/* The WAL the image needs is all still in the live pg_wal after the stop. */
static void check_wal_present(const struct mb_pg_info *in, const struct mb_pg_backup *b)
{
	struct mb_error e = { 0 };
	char **v = NULL, path[512];
	size_t n = 0, present = 0;
	struct stat st;

	if (mb_pg_wal_segments(b->timeline, b->start_lsn, b->stop_lsn, in->wal_segment_size,
			       &v, &n, &e) < 0)
		diag("%s", e.msg);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", in->wal_directory, v[i]);
		present += stat(path, &st) == 0 && (uint64_t)st.st_size == in->wal_segment_size;
	}
	ok(n >= 4 && present == n, "every WAL segment start..stop is in the live pg_wal");
	diag("%zu segment(s) from %s", n, n ? v[0] : "-");
	mb_pg_wal_segments_free(v, n);
}

/* Where the cluster lives against the legs a run was given. */
static void check_place(struct mb_quiesce *q, const struct mb_pg_info *in)
{
	struct mb_error e = { 0 };
	struct stat here, proc;
	struct mb_mount m;
	char want[sizeof(m.mountpoint) + 1024];

	stat(tmp, &here);
	stat("/proc", &proc);
	ok(q->ops->place(q, (struct mb_quiesce_leg[]){ { here.st_dev, "loop:/dev/loop1" } }, 1,
			 &e) == 0, "place: data directory, pg_wal and tablespace on legs[0]");
	q->ops->place(q, (struct mb_quiesce_leg[]){ { here.st_dev, "loop:/dev/loop1" },
						     { proc.st_dev, "loop:/dev/loop2" } }, 2, &e);
	is_int(e.code, MB_ERR_USAGE, "place: a leg that holds nothing is a usage error");
	is_str(e.msg, "mirror 'loop:/dev/loop2' holds nothing of the cluster", "its message");
	mb_error_clear(&e);
	q->ops->place(q, (struct mb_quiesce_leg[]){ { proc.st_dev, "loop:/dev/loop2" } }, 1, &e);
	mb_mount_by_dev(here.st_dev, &m, NULL);
	snprintf(want, sizeof(want), "pg_wal '%s' is on the filesystem at '%s', which is on no "
		 "given mirror", in->wal_directory, m.mountpoint);
	is_str(e.msg, want, "place: pg_wal on no leg is named");
	is_int(e.code, MB_ERR_SOURCE, "with MB_ERR_SOURCE");
	mb_error_clear(&e);
}

/* What discover found, against what setup made; the source it dictates. */
static void check_discovery(struct mb_quiesce *q, const struct mb_pg_info *in, const char *slot)
{
	struct mb_error e = { 0 };
	char real[PATH_MAX], want[1024];

	is_str(in->data_directory, realpath(datadir, real), "data directory");
	is_str(in->wal_directory, realpath(waldir, real), "pg_wal is the symlink's target");
	is_int(in->n_tablespaces, 1, "one user tablespace");
	is_str(in->n_tablespaces ? in->tablespaces[0].name : NULL, "ts1", "its name");
	is_str(in->n_tablespaces ? in->tablespaces[0].location : NULL, tsdir, "its location");
	is_int(in->wal_segment_size, 1 << 20, "wal_segment_size of --wal-segsize=1");
	is_int(in->timeline, 1, "timeline");
	ok(in->server_version_num >= 150000 && !in->in_recovery, "version and role");
	is_int(slots(slot), 1, "the temporary slot exists after prepare");
	is_str(q->ops->source(q, NULL, &e), in->data_directory, "the source is the data directory");
	is_str(q->ops->source(q, datadir, &e), in->data_directory, "... given as itself, too");
	ok(q->ops->source(q, tmp, &e) == NULL, "another --source is refused");
	snprintf(want, sizeof(want), "--source '%s' is not the data directory of the cluster ('%s')",
		 tmp, in->data_directory);
	is_str(e.msg, want, "... naming both");
	mb_error_clear(&e);
	check_place(q, in);
}

static void test_hot_bracket(void)
{
	struct mb_quiesce q;
	struct mb_error e = { 0 };
	const struct mb_pg_info *in;
	const struct mb_pg_backup *b;
	char want[512], slot[64] = "";
	int pid = -1;

	ok(pg_ready(&q, conn_ok, "hot", "unit test", &e) == 0, "open, discover, prepare");
	if (e.code)
		diag("%s / %s", e.msg, e.hint);
	in = mb_pg_info(&q);
	ok(in != NULL, "prepare exposes what it discovered");
	if (!in)
		return;
	pid = in->backend_pid;
	snprintf(slot, sizeof(slot), "%s", in->slot_name);
	check_discovery(&q, in, slot);
	is_int(fpi_bytes(), 0, "no backup is running before enter");

	ok(q.ops->enter(&q, &e) == 0, "hot enter");
	is_int(backup_sessions(pid), 1, "pg_stat_activity: the session holds pg_backup_start");
	ok(fpi_bytes() > 0, "the server counts a running backup (full-page images are forced)");
	ok(q.ops->enter(&q, &e) == -1, "a second enter on the session is refused");
	is_int(e.code, MB_ERR_DATABASE, "with MB_ERR_DATABASE");
	is_str(e.msg, "unable to start the backup: a backup is already in progress in this session",
	       "its message");
	mb_error_clear(&e);
	/* WAL moves on during the backup: the image needs several segments,
	 * and checkpoints must not recycle them (the slot holds them). */
	for (int i = 0; i < 3; i++) {
		sql("INSERT INTO fpi_probe SELECT 1 FROM generate_series(1, 1000)");
		sql("SELECT pg_switch_wal()");
	}
	sql("CHECKPOINT");

	ok(q.ops->leave(&q, &e) == 0, "hot leave");
	b = mb_pg_backup_result(&q);
	ok(b && b->start_lsn > 0 && b->start_lsn <= b->stop_lsn, "start LSN <= stop LSN");
	ok(b && strstr(b->backup_label, "START WAL LOCATION: ") &&
	   strstr(b->backup_label, "LABEL: unit test\n"), "backup_label has START WAL LOCATION and the label");
	snprintf(want, sizeof(want), "%u %s\n", in->n_tablespaces ? in->tablespaces[0].oid : 0, tsdir);
	is_str(b ? b->tablespace_map : NULL, want, "tablespace_map names the tablespace");
	is_int(b ? b->timeline : 0, 1, "timeline from backup_label");
	is_int(backup_sessions(pid), 0, "pg_stat_activity: no backup session after leave");
	is_int(fpi_bytes(), 0, "the server counts no running backup after leave");
	ok(q.ops->leave(&q, &e) == 0 && mb_pg_backup_result(&q) == b, "leave is idempotent");
	if (b)
		check_wal_present(in, b);
	is_int(slots(slot), 1, "the slot stays until close (the WAL is copied before)");
	q.ops->close(&q);
	is_int(wait_gone(pid), 0, "close ends the session");
	is_int(slots(slot), 0, "and the temporary slot is gone");
}

/* A child holds the session in backup mode and is killed with SIGKILL:
 * the server ends the backup and drops the slot with no help. */
static void test_kill_in_backup(void)
{
	int p[2], pid = -1;
	pid_t child;
	char slot[64];

	if (pipe(p) < 0)
		return;
	fflush(stdout);
	child = fork();
	if (child == 0) {
		struct mb_quiesce q;
		struct mb_error e = { 0 };

		close(p[0]);
		if (pg_ready(&q, conn_ok, "hot", NULL, &e) == 0 && q.ops->enter(&q, &e) == 0)
			pid = mb_pg_info(&q)->backend_pid;
		if (write(p[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &pid, sizeof(pid)) != sizeof(pid))
		pid = -1;
	close(p[0]);
	ok(pid > 0, "a child holds a session in backup mode");
	snprintf(slot, sizeof(slot), "mbackup_%d", pid);
	is_int(backup_sessions(pid), 1, "its session is in pg_stat_activity");
	ok(fpi_bytes() > 0, "the server counts its backup");
	is_int(slots(slot), 1, "its slot exists");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	is_int(wait_gone(pid), 0, "after kill -9 the server ends the session by itself");
	is_int(fpi_bytes(), 0, "and the backup with it (the guard need not)");
	is_int(slots(slot), 0, "and the slot");
}

static void is_connect_error(const char *conninfo, const char *want, const char *hint,
			     const char *name)
{
	struct mb_error e = try_prepare(conninfo, NULL);
	char title[256];

	snprintf(title, sizeof(title), "%s: MB_ERR_DATABASE", name);
	is_int(e.code, MB_ERR_DATABASE, title);
	snprintf(title, sizeof(title), "%s: message", name);
	is_str(e.msg, want, title);
	snprintf(title, sizeof(title), "%s: hint", name);
	ok(strncmp(e.hint, hint, strlen(hint)) == 0 && !strstr(e.hint, "password=") &&
	   !strstr(e.hint, "wrong"), title);
	if (strncmp(e.hint, hint, strlen(hint)) != 0)
		diag("hint: %s", e.hint);
}

static void test_errors(void)
{
	char ci[512], want[512];
	struct mb_error e;
	long long before = sql_num("SELECT count(*) FROM pg_replication_slots", NULL);

	snprintf(ci, sizeof(ci), "host=%s port=1 user=postgres", sock);
	snprintf(want, sizeof(want), "unable to connect to PostgreSQL: connection to server on "
		 "socket \"%s/.s.PGSQL.1\" failed: No such file or directory", sock);
	is_connect_error(ci, want, "is the server running?", "unreachable port");

	snprintf(ci, sizeof(ci), "host=%s port=%d bogus=1", sock, port);
	is_connect_error(ci, "unable to connect to PostgreSQL: invalid connection option \"bogus\"",
			 "--pg-conn takes a conninfo", "bad conninfo");

	snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=pwuser password=wrong dbname=postgres",
		 port);
	snprintf(want, sizeof(want), "unable to connect to PostgreSQL: connection to server at "
		 "\"127.0.0.1\", port %d failed: FATAL:  password authentication failed for user "
		 "\"pwuser\"", port);
	is_connect_error(ci, want, "check the user and its password", "wrong password");

	snprintf(ci, sizeof(ci), "host=%s port=%d user=nosuch dbname=postgres", sock, port);
	snprintf(want, sizeof(want), "unable to connect to PostgreSQL: connection to server on "
		 "socket \"%s/.s.PGSQL.%d\" failed: FATAL:  role \"nosuch\" does not exist", sock, port);
	is_connect_error(ci, want, "check the user and its password", "unknown role");

	snprintf(ci, sizeof(ci), "host=%s port=%d user=plain dbname=postgres", sock, port);
	e = try_prepare(ci, NULL);
	is_int(e.code, MB_ERR_DATABASE, "not superuser: MB_ERR_DATABASE");
	is_str(e.msg, "role 'plain' may not take a backup: it lacks REPLICATION, pg_checkpoint, "
	       "pg_read_all_settings, EXECUTE on pg_backup_start/pg_backup_stop", "not superuser: the missing rights, named");

	snprintf(ci, sizeof(ci), "host=%s port=%d user=operator dbname=postgres", sock, port);
	e = try_prepare(ci, NULL);
	is_str(e.msg, "", "a role with exactly the granted rights takes a hot backup");

	/* Sessions end asynchronously on the server: wait a little. */
	for (int i = 0; i < 100 && sql_num("SELECT count(*) FROM pg_replication_slots", NULL) != before; i++)
		usleep(100 * 1000);
	is_int(sql_num("SELECT count(*) FROM pg_replication_slots", NULL), before,
	       "no slot is left by any prepare");
}

/* A failed enter leaves nothing and leave is then a no-op. */
/* What the guard runs at its deadline (pg_deadline.c): the held session,
 * named by pid and start time, ended from a session of its own. */
static void test_guard_undo(void)
{
	struct mb_quiesce q;
	struct mb_error e = { 0 };
	char slot[64], arg[1024];
	const char *text;
	int pid;

	pg_ready(&q, conn_ok, "hot", NULL, &e);
	ok(q.ops->enter(&q, &e) == 0 && (text = q.ops->guard(&q)) != NULL,
	   "after prepare and enter the plugin leaves the guard a text");
	pid = mb_pg_info(&q)->backend_pid;
	snprintf(slot, sizeof(slot), "mbackup_%d", pid);
	snprintf(arg, sizeof(arg), "%d 1.5 %s", pid, conn_ok);
	ok(q.ops->undo(arg, &(struct mb_undo_ctx){ 0 }, &e) == 0 && backup_sessions(pid) == 1,
	   "a session with that pid but another start time is not touched");
	ok(q.ops->undo(text, &(struct mb_undo_ctx){ 0 }, &e) == 0 && e.code == 0, "undo with the guard's text succeeds");
	is_int(wait_gone(pid), 0, "the held session is gone");
	is_int(fpi_bytes(), 0, "and its backup with it");
	is_int(slots(slot), 0, "and its slot");
	ok(q.ops->undo(text, &(struct mb_undo_ctx){ 0 }, &e) == 0, "a second undo finds nothing to do and succeeds");
	is_int(q.ops->undo("garbage", &(struct mb_undo_ctx){ 0 }, &e), -1, "a text that names no session is refused");
	is_str(e.msg, "postgres: bad session description 'garbage'", "its message");
	mb_error_clear(&e);
	ok(q.ops->leave(&q, &e) == -1 && e.code == MB_ERR_DATABASE,
	   "leave on the ended session fails (the run is failed by the guard's timeout anyway)");
	q.ops->close(&q);
}

static void test_failed_enter(void)
{
	struct mb_quiesce q;
	char label[1100];
	struct mb_error e = { 0 };

	memset(label, 'x', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	pg_ready(&q, conn_ok, "hot", label, &e);
	ok(q.ops->enter(&q, &e) == -1, "enter with a label pg_backup_start refuses fails");
	is_str(e.msg, "unable to start the backup: backup label too long (max 1024 bytes)",
	       "with the server's message");
	mb_error_clear(&e);
	ok(q.ops->leave(&q, &e) == 0 && e.code == 0 && !mb_pg_backup_result(&q),
	   "leave after a failed enter does nothing");
	is_int(fpi_bytes(), 0, "no backup is running");
	q.ops->close(&q);
}

static void test_freeze_and_env(void)
{
	struct mb_quiesce q;
	struct mb_error e = { 0 };
	char p[16];
	int pid;

	snprintf(p, sizeof(p), "%d", port);
	setenv("PGHOST", sock, 1);
	setenv("PGPORT", p, 1);
	setenv("PGUSER", "postgres", 1);
	setenv("PGDATABASE", "postgres", 1);
	ok(pg_ready(&q, NULL, "freeze", NULL, &e) == 0,
	   "prepare from the libpq environment (PGHOST, PGPORT, PGUSER)");
	unsetenv("PGHOST");
	unsetenv("PGPORT");
	unsetenv("PGUSER");
	unsetenv("PGDATABASE");
	pid = mb_pg_info(&q) ? mb_pg_info(&q)->backend_pid : -1;
	ok(q.ops->enter(&q, &e) == 0 && q.ops->leave(&q, &e) == 0, "freeze mode: enter and leave");
	ok(mb_pg_backup_result(&q) == NULL, "freeze mode starts no backup");
	is_int(backup_sessions(pid), 0, "no session in backup mode");
	q.ops->close(&q);
	is_int(wait_gone(pid), 0, "close ends the session");
}

static int setup(void)
{
	static const char *const setup_sql[] = {
		"CREATE EXTENSION pg_walinspect",
		"CREATE TABLE fpi_probe (i int)",
		"INSERT INTO fpi_probe VALUES (1)",
		"CREATE ROLE pwuser LOGIN PASSWORD 'right'",
		"CREATE ROLE plain LOGIN",
		"CREATE ROLE operator LOGIN REPLICATION",
		"GRANT pg_checkpoint, pg_read_all_settings TO operator",
		"GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean),"
		" pg_backup_stop(boolean) TO operator",
		NULL };
	char ts[256];

	if (start_server() < 0)
		return -1;
	snprintf(conn_ok, sizeof(conn_ok), "host=%s port=%d user=postgres dbname=postgres "
		 "application_name=mbackup-test", sock, port);
	admin = PQconnectdb(conn_ok);
	if (PQstatus(admin) != CONNECTION_OK)
		return -1;
	for (int i = 0; setup_sql[i]; i++)
		if (sql(setup_sql[i]) < 0)
			return -1;
	snprintf(ts, sizeof(ts), "CREATE TABLESPACE ts1 LOCATION '%s'", tsdir);
	return sql(ts);
}

int main(void)
{
	plan(geteuid() == 0 ? 104 : 23);
	test_wal_arithmetic();
	test_lsn_and_conninfo();
	test_open_and_filter();
	if (geteuid() != 0) {
		diag("not root: the server tests need runuser -u postgres; skipped");
		return done_testing();
	}
	owner = getpid();
	snprintf(tmp, sizeof(tmp), "/var/tmp/pgtest-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(sock, sizeof(sock), "%s/sock", tmp);
	snprintf(datadir, sizeof(datadir), "%s/data", tmp);
	snprintf(waldir, sizeof(waldir), "%s/wal", tmp);
	snprintf(tsdir, sizeof(tsdir), "%s/ts1", tmp);
	snprintf(cmdlog, sizeof(cmdlog), "%s/cmd.log", tmp);
	port = 20000 + getpid() % 20000;
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGABRT, on_signal);
	mb_log_set_level(MB_LOG_WARN);
	if (setup() < 0) {
		diag("unable to set up the server; see below");
		ok(0, "a PostgreSQL 15 server starts");
		return done_testing();
	}
	test_hot_bracket();
	test_kill_in_backup();
	test_errors();
	test_guard_undo();
	test_failed_enter();
	test_freeze_and_env();
	return done_testing();
}
