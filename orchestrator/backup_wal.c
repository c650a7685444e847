/* What of the WAL archive a backup needs, looked for; see backup_wal.h. */
#include "orchestrator/backup_wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fact.h"
#include "common/log.h"
#include "orchestrator/catalog_wal.h"
#include "orchestrator/run.h"
#include "orchestrator/wal_archive.h"
#include "orchestrator/wal_file.h"

/* pg_backup_stop(false) does not wait for the archive: its last segment
 * may still be on its way through archive_command.  A tail that is only
 * late is waited for this long (a hole, or an archive that is behind
 * the backup's start, is not). */
#define LATE_WAIT_S 10

struct span {
	uint32_t tli;
	uint64_t start, stop;	/* LSNs */
};

/* The database's span from its facts; false when it reported none. */
static bool span_of(struct mb_run *r, struct span *sp)
{
	struct mb_fact f[MB_FACTS_MAX];
	struct mb_error e = { 0 };
	const char *t, *a, *b;
	size_t n;

	if (mb_quiesce_stack_facts(&r->quiesce, f, MB_FACTS_MAX, &n, &e) < 0)
		return false;
	t = mb_fact_get(f, n, "timeline");
	a = mb_fact_get(f, n, "start_lsn");
	b = mb_fact_get(f, n, "stop_lsn");
	if (!t || !a || !b || mb_wal_lsn_parse(a, &sp->start) < 0 ||
	    mb_wal_lsn_parse(b, &sp->stop) < 0 || (sp->tli = (uint32_t)strtoul(t, NULL, 10)) == 0)
		return false;
	return true;
}

static void set_fact(struct mb_run *r, const char *key, const char *value)
{
	struct mb_error e = { 0 };

	if (mb_catalog_run_set_fact(r->catalog, r->id, key, value, &e) < 0)
		mb_warn("%s", e.msg);
}

/* The span's last byte's segment: stop_lsn on a segment boundary ends
 * the segment before (as pg_backup_stop's own wait counts it). */
static uint64_t last_byte(const struct span *sp)
{
	return sp->stop > sp->start ? sp->stop - 1 : sp->start;
}

/* One look: 0 whole, 1 gap (late: only the tail is not there yet). */
static int look(struct mb_wal_store *st, const struct span *sp, struct mb_wal_scan *s,
		struct mb_wal_gap *gap, bool *late, struct mb_error *e)
{
	int rc;

	if (mb_wal_scan(st, s, e) < 0)
		return -1;
	rc = mb_wal_scan_check(st, s, sp->tli, sp->start, sp->tli, last_byte(sp), gap, e);
	/* late: the archive had caught up with the backup's start and only
	 * what came after its newest segment is missing (an empty or stale
	 * archive is not waited for) */
	if (rc == 1 && s->n_segs) {
		const struct mb_wal_seg *newest = &s->segs[s->n_segs - 1];
		uint64_t miss = mb_wal_segno(gap->lsn, s->seg_size);

		*late = gap->tli == sp->tli && newest->tli == sp->tli && miss > newest->segno &&
			newest->segno + 1 >= mb_wal_segno(sp->start, s->seg_size);
	} else {
		*late = false;
	}
	return rc;
}

static int check(struct mb_run *r, struct mb_wal_store *st, const struct span *sp,
		 struct mb_wal_gap *gap, struct mb_error *e)
{
	struct timespec pause = { 0, 500 * 1000 * 1000 };
	time_t until = time(NULL) + LATE_WAIT_S;
	struct mb_wal_scan s = { 0 };
	size_t added, dropped;
	bool late;
	int rc;

	for (;;) {
		rc = look(st, sp, &s, gap, &late, e);
		if (rc != 1 || !late || time(NULL) >= until)
			break;
		mb_wal_scan_free(&s);
		nanosleep(&pause, NULL);
	}
	if (rc >= 0 && mb_catalog_wal_record(r->catalog, st, &s, &added, &dropped, e) < 0)
		rc = -1;
	mb_wal_scan_free(&s);
	return rc;
}

void mb_backup_wal_note(struct mb_run *r)
{
	const struct mb_options *o = r->opt;
	char first[MB_WAL_NAME_MAX], last[MB_WAL_NAME_MAX], what[160];
	struct mb_wal_store *st = NULL;
	struct mb_wal_gap gap = { 0 };
	struct mb_error e = { 0 };
	uint64_t sysid;
	uint32_t seg_size;
	struct span sp;
	int rc = -1;

	if (!o->wal_archive || !o->wal_archive[0] || !span_of(r, &sp))
		return;
	if (mb_wal_archive_open(o, &st, NULL, &e) == 0 &&
	    mb_wal_info_read(st, &sysid, &seg_size, &e) == 0) {
		mb_wal_seg_name(sp.tli, mb_wal_segno(sp.start, seg_size), seg_size, first);
		mb_wal_seg_name(sp.tli, mb_wal_segno(last_byte(&sp), seg_size), seg_size, last);
		set_fact(r, "wal_first", first);
		set_fact(r, "wal_last", last);
		rc = check(r, st, &sp, &gap, &e);
	}
	if (rc == 0) {
		set_fact(r, "wal_archived", "yes");
		mb_info("backup %lld: its WAL %s..%s is in the archive '%s'", (long long)r->id,
			first, last, o->wal_archive);
	} else if (rc == 1) {
		snprintf(what, sizeof(what), "missing %s", gap.first_missing);
		set_fact(r, "wal_archived", what);
		mb_warn("backup %lld: '%s' is not in the WAL archive '%s': the image restores, "
			"but no restore can replay past it (is archive_command = 'mbackup wal-push "
			"%%p' failing? see wal-check)", (long long)r->id, gap.first_missing,
			o->wal_archive);
	} else {
		snprintf(what, sizeof(what), "unknown: %.140s", e.msg);
		set_fact(r, "wal_archived", what);
		mb_warn("backup %lld: its WAL could not be looked for in the archive: %s",
			(long long)r->id, e.msg);
	}
	mb_wal_store_close(st);
}
