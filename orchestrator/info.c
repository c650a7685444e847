/*
 * `mbackup info [--backup ID] [--output json]`: one run in full, from the
 * catalog: its phases with their times, the window and the database
 * bracket, the mirrors, the media with their bytes and states, where each
 * image lies on tape, how the items of a set were placed (and moved off a
 * failed device), the obligations and their states, bytes and rate, the
 * error; and, now, each raid1 mirror's proof on record and when its next
 * full check is due.  Without --backup: the newest backup.  The JSON names are
 * documented in mbackup(8) (doc/mbackup.8.in, "JSON OUTPUT") and stable.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/catalog.h"
#include "orchestrator/catalog_json.h"
#include "orchestrator/catalog_proof.h"
#include "orchestrator/commands.h"
#include "plugins/mirror/lvm_due.h"
#include "plugins/mirror/mirror.h"

#define WHAT "read the run"

enum { RUN, LAST, PHASES, MEDIA, TAPE, PLACEMENTS, OBLIGATIONS, N_SQL };
static const char *const sql[N_SQL] = {
	[RUN] = "SELECT id, verb, status, started, finished, window_ms, files, bytes,"
		" exit_code, error, config FROM runs WHERE id = ?",
	[LAST] = "SELECT id FROM runs WHERE verb = 'backup' ORDER BY id DESC LIMIT 1",
	[PHASES] = "SELECT name, started, finished, duration_ms, status, detail"
		   " FROM phases WHERE run_id = ? ORDER BY rowid",
	[MEDIA] = "SELECT device, media, bytes, status, compressed_bytes FROM images WHERE run_id = ?"
		  " ORDER BY device, rowid",
	[TAPE] = "SELECT device, label, volume, file_no, record_size, first_byte"
		 " FROM tape_parts WHERE run_id = ? ORDER BY device, volume, rowid",
	[PLACEMENTS] = "SELECT device, count(*), sum(seg_length), sum(planned <> device)"
		       " FROM placements WHERE run_id = ? GROUP BY device ORDER BY device",
	[OBLIGATIONS] = "SELECT kind, driver, arg, state FROM obligations"
			" WHERE run_id = ? ORDER BY id",
};
static const char *const run_keys[] = { "id", "verb", "status", "started", "finished",
	"window_ms", "files", "bytes", "exit_code", "error", "config", NULL };
static const char *const phase_keys[] = { "name", "started", "finished", "duration_ms",
	"status", "detail", NULL };
static const char *const media_keys[] = { "device", "media", "bytes", "status",
	"compressed_bytes", NULL };
static const char *const tape_keys[] = { "device", "label", "volume", "file_no",
	"record_size", "first_byte", NULL };
static const char *const placement_keys[] = { "device", "items", "bytes", "moved_in", NULL };
static const char *const obligation_keys[] = { "kind", "driver", "arg", "state", NULL };

static const struct { const char *name; int sql; const char *const *keys; } parts[] = {
	{ "phases", PHASES, phase_keys }, { "media", MEDIA, media_keys },
	{ "tape", TAPE, tape_keys }, { "placements", PLACEMENTS, placement_keys },
	{ "obligations", OBLIGATIONS, obligation_keys },
};

/* The run --backup names (a run id), or the newest backup. */
static int pick_run(struct mb_catalog *c, const struct mb_options *o, int64_t *id,
		    struct mb_error *e)
{
	json_t *rows;
	char *end;

	if (o->backup) {
		errno = 0;
		*id = strtoll(o->backup, &end, 10);
		if (errno || end == o->backup || *end || *id <= 0) {
			mb_fail(e, MB_ERR_USAGE, 0, "invalid --backup '%s' for 'info': expected a run id",
				o->backup);
			mb_hint(e, "the ids are in the first column of 'mbackup list'");
			return -1;
		}
		return 0;
	}
	if (!(rows = cat_rows_json(c, sql, LAST, CAT_NO_ARGS, (const char *const[]){ "id", NULL },
				   WHAT, e)))
		return -1;
	*id = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
	json_decref(rows);
	if (*id == 0) {
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "no backup in catalog '%s' yet", o->catalog);
		mb_hint(e, "give --backup ID for a run of another command (see mbackup list)");
		return -1;
	}
	return 0;
}

/* The phase called name of run j, or NULL. */
static json_t *phase(json_t *j, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(j, "phases"), i, p)
		if (strcmp(json_string_value(json_object_get(p, "name")) ?: "", name) == 0)
			return p;
	return NULL;
}

/* The config text as an object; "mirrors": its --mirror in their one form. */
static json_t *mirrors(json_t *j)
{
	json_t *cfg = json_loads(json_string_value(json_object_get(j, "config")) ?: "", 0, NULL);
	json_t *out = json_array(), *m;
	size_t i;

	json_array_foreach(json_object_get(cfg, "mirror"), i, m) {
		struct mb_error e = { 0 };
		char *canon = NULL;

		if (mb_mirror_resolve(json_string_value(m) ?: "", &canon, &e) == 0)
			json_array_append_new(out, json_string(canon));
		else
			json_array_append(out, m);
		free(canon);
	}
	json_object_set_new(j, "config", cfg ? cfg : json_null());
	return out;
}

/* The run's length: from its first phase's start (the preflight begins
 * before its run's row is written) to its end. */
static void duration(json_t *j)
{
	json_t *first = json_object_get(json_array_get(json_object_get(j, "phases"), 0), "started");
	json_t *start = json_object_get(j, "started");

	if (json_is_string(first) && json_is_string(start) &&
	    strcmp(json_string_value(first), json_string_value(start)) < 0)
		start = first;
	json_object_set_new(j, "duration_ms", cat_elapsed(start, json_object_get(j, "finished")));
}

/* What is computed from the rows: durations, rate, the bracket, names. */
static void derive(json_t *j)
{
	json_t *stream = phase(j, "stream"), *unq = phase(j, "unquiesce"), *ms, *code;
	long long bytes = json_integer_value(json_object_get(j, "bytes")), bracket_ms;
	char kind[32];

	duration(j);
	ms = stream ? json_object_get(stream, "duration_ms") : NULL;
	json_object_set_new(j, "stream_ms", json_is_integer(ms) ? json_copy(ms) : json_null());
	json_object_set_new(j, "rate_bytes_per_s", json_integer_value(ms) > 0 ?
			    json_integer(bytes * 1000 / json_integer_value(ms)) : json_null());
	code = json_object_get(j, "exit_code");
	json_object_set_new(j, "error_name", json_is_integer(code) ?
			    json_string(mb_code_name((int)json_integer_value(code))) : json_null());
	if (unq && sscanf(json_string_value(json_object_get(unq, "detail")) ?: "",
			  "window %*d ms, %31s bracket %lld ms", kind, &bracket_ms) == 2) {
		json_object_set_new(j, "bracket", json_string(kind));
		json_object_set_new(j, "bracket_ms", json_integer(bracket_ms));
	} else {
		json_object_set_new(j, "bracket", json_null());
		json_object_set_new(j, "bracket_ms", json_null());
	}
	json_object_set_new(j, "mirrors", mirrors(j));
}

/* Each lvm mirror of the run's record of proofs, now (lvm_due.h). */
static json_t *proofs(struct mb_catalog *c, const struct mb_options *o, json_t *j,
		      struct mb_error *e)
{
	json_t *out = json_array(), *m;
	size_t i;

	json_array_foreach(json_object_get(j, "mirrors"), i, m) {
		const char *spec = json_string_value(m) ?: "";
		struct mb_proof_record rec;
		char at[32], due[256];
		bool known;
		int left;

		if (strncmp(spec, "lvm:", 4) != 0)
			continue;
		if (mb_catalog_proof_get(c, spec, &known, &rec, e) < 0) {
			json_decref(out);
			return NULL;
		}
		if (!known) {
			json_array_append_new(out, json_pack("{s:s, s:b}", "mirror", spec,
							     "recorded", 0));
			continue;
		}
		mb_lvm_due_at(&rec, (int)o->mirror_check_runs, (int)o->mirror_check_days, &left,
			      at, sizeof(at));
		mb_lvm_next_due(&rec, (int)o->mirror_check_runs, (int)o->mirror_check_days, due,
				sizeof(due));
		json_array_append_new(out, json_pack("{s:s, s:b, s:s?, s:i, s:i, s:s?, s:s}",
			"mirror", spec, "recorded", 1, "full_at", rec.full_at[0] ? rec.full_at : NULL,
			"runs_since_full", rec.runs_since, "next_full_after_runs", left,
			"next_full_at", at[0] ? at : NULL, "next_full_due", due));
	}
	return out;
}

/* Run id in full, as `info --output json` prints it. */
static json_t *info_json(struct mb_catalog *c, const struct mb_options *o, int64_t id,
			 struct mb_error *e)
{
	json_t *rows = cat_rows_json(c, sql, RUN, CAT_ARGS(CAT_I(id)), run_keys, WHAT, e), *j, *v;

	if (!rows)
		return NULL;
	if (!(j = json_incref(json_array_get(rows, 0)))) {
		json_decref(rows);
		mb_fail(e, MB_ERR_NOT_FOUND, 0, "no run %lld in catalog '%s'", (long long)id, c->path);
		mb_hint(e, "the ids are in the first column of 'mbackup list'");
		return NULL;
	}
	json_decref(rows);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!(v = cat_rows_json(c, sql, parts[i].sql, CAT_ARGS(CAT_I(id)), parts[i].keys,
					WHAT, e))) {
			json_decref(j);
			return NULL;
		}
		json_object_set_new(j, parts[i].name, v);
	}
	derive(j);
	if (!(v = proofs(c, o, j, e))) {
		json_decref(j);
		return NULL;
	}
	json_object_set_new(j, "mirror_proofs", v);
	return j;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "-";
}

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void bytes_text(char *buf, size_t len, json_t *o, const char *key)
{
	cat_human_bytes(buf, len, (double)num(o, key));
}

/* The run's head: what, when, how long, how much. */
static void text_head(FILE *out, json_t *j)
{
	char a[32], b[32], c[32];
	json_t *m;
	size_t i;

	fprintf(out, "run %lld: %s, %s", num(j, "id"), str(j, "verb"), str(j, "status"));
	if (json_is_integer(json_object_get(j, "exit_code")))
		fprintf(out, " (exit %lld, %s)", num(j, "exit_code"), str(j, "error_name"));
	cat_human_ms(a, sizeof(a), json_object_get(j, "duration_ms"));
	fprintf(out, "\nstarted     %s\nfinished    %s (%s)\n", str(j, "started"),
		str(j, "finished"), a);
	cat_human_ms(a, sizeof(a), json_object_get(j, "window_ms"));
	fprintf(out, "window      %s", a);
	if (json_is_integer(json_object_get(j, "bracket_ms")))
		fprintf(out, " (%s bracket %lld ms)", str(j, "bracket"), num(j, "bracket_ms"));
	bytes_text(a, sizeof(a), j, "bytes");
	cat_human_ms(b, sizeof(b), json_object_get(j, "stream_ms"));
	cat_human_bytes(c, sizeof(c), (double)num(j, "rate_bytes_per_s"));
	fprintf(out, "\nstreamed    %lld files, %s in %s", num(j, "files"), a, b);
	if (json_is_integer(json_object_get(j, "rate_bytes_per_s")))
		fprintf(out, ", %s/s", c);
	fprintf(out, "\nmirrors    ");
	json_array_foreach(json_object_get(j, "mirrors"), i, m)
		fprintf(out, "%s %s", i ? "," : "", json_string_value(m) ?: "?");
	fputc('\n', out);
	json_array_foreach(json_object_get(j, "mirror_proofs"), i, m) {
		fprintf(out, "%-11s %s: ", i ? "" : "proof now", str(m, "mirror"));
		if (!json_is_true(json_object_get(m, "recorded")))
			fprintf(out, "none on record (a raid1's next merge is checked in full)\n");
		else
			fprintf(out, "last full check %s, %lld run(s) by the witness since; next "
				"full check due %s\n", str(m, "full_at"), num(m, "runs_since_full"),
				str(m, "next_full_due"));
	}
}

/* Media, tape positions, placements. */
static void text_media(FILE *out, json_t *j)
{
	char a[32], b[32];
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(j, "media"), i, m) {
		bytes_text(a, sizeof(a), m, "bytes");
		fprintf(out, "%-11s #%lld %s, %s", i ? "" : "media", num(m, "device"), str(m, "media"), a);
		if (num(m, "compressed_bytes") > 0) {
			bytes_text(b, sizeof(b), m, "compressed_bytes");
			fprintf(out, ", %s compressed (%.2f:1)", b,
				(double)num(m, "bytes") / (double)num(m, "compressed_bytes"));
		}
		fprintf(out, ", %s\n", str(m, "status"));
	}
	json_array_foreach(json_object_get(j, "tape"), i, m)
		fprintf(out, "%-11s #%lld volume %lld '%s', tape file %lld, %lld-byte records, "
			"from byte %lld\n", i ? "" : "tape", num(m, "device"), num(m, "volume"),
			str(m, "label"), num(m, "file_no"), num(m, "record_size"),
			num(m, "first_byte"));
	json_array_foreach(json_object_get(j, "placements"), i, m) {
		bytes_text(a, sizeof(a), m, "bytes");
		fprintf(out, "%-11s #%lld %lld items, %s", i ? "" : "placements", num(m, "device"),
			num(m, "items"), a);
		if (num(m, "moved_in"))
			fprintf(out, ", %lld moved in from a failed device", num(m, "moved_in"));
		fputc('\n', out);
	}
}

/* Phases, obligations, the error. */
static void text_tail(FILE *out, json_t *j)
{
	char a[32];
	json_t *p;
	size_t i;

	fprintf(out, "phases\n");
	json_array_foreach(json_object_get(j, "phases"), i, p) {
		cat_human_ms(a, sizeof(a), json_object_get(p, "duration_ms"));
		fprintf(out, "  %-10s %9s  %-7s %s\n", str(p, "name"), a, str(p, "status"),
			json_string_value(json_object_get(p, "detail")) ?: "");
	}
	json_array_foreach(json_object_get(j, "obligations"), i, p)
		fprintf(out, "%s  %s %s '%s': %s\n", i ? "" : "obligations\n", str(p, "kind"),
			str(p, "driver"), str(p, "arg"), str(p, "state"));
	if (json_is_string(json_object_get(j, "error")))
		fprintf(out, "error       %s\n", str(j, "error"));
}

int mb_cmd_info(const struct mb_options *opt, struct mb_error *e)
{
	struct mb_catalog *c = NULL;
	json_t *j = NULL;
	int64_t id;
	int rc = -1;

	if (access(opt->catalog, F_OK) < 0) {
		mb_fail(e, MB_ERR_CATALOG, errno, "no catalog at '%s'", opt->catalog);
		mb_hint(e, "no backup has run with this catalog yet (see --catalog)");
		return -1;
	}
	if (mb_catalog_open(&c, opt->catalog, e) < 0 || pick_run(c, opt, &id, e) < 0 ||
	    !(j = info_json(c, opt, id, e)))
		goto out;
	if (opt->output && strcmp(opt->output, "json") == 0) {
		if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
			goto io;
		putchar('\n');
	} else {
		text_head(stdout, j);
		text_media(stdout, j);
		text_tail(stdout, j);
	}
	if (fflush(stdout) == EOF)
		goto io;
	rc = 0;
	goto out;
io:
	mb_fail(e, MB_ERR_IO, errno, "unable to write the run");
out:
	json_decref(j);
	mb_catalog_close(c);
	return rc;
}
