/*
 * Unit tests for plugins/quiesce/quiesce.c (the registry: --db stacks,
 * their messages, plugins by name, the undo recover finds through them)
 * and stack.c (ready the plugins not entered, enter in order, leave in reverse, the window's part, the
 * filter applied to a set, artifacts, close), the latter on two fake
 * plugins that log their calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "orchestrator/obligations.h"
#include "plugins/media/media.h"
#include "plugins/mirror/mirror.h"
#include "plugins/quiesce/quiesce.h"
#include "tests/lib/tap.h"

static char calls[1024];

static void called(const struct mb_quiesce *q, const char *what)
{
	snprintf(calls + strlen(calls), sizeof(calls) - strlen(calls), "%s%s.%s",
		 calls[0] ? " " : "", q->ops->name, what);
}

static int fake_enter(struct mb_quiesce *q, struct mb_error *e)
{
	called(q, "enter");
	return q->priv ? mb_fail(e, MB_ERR_QUIESCE, 0, "%s refuses", q->ops->name) : 0;
}

static int fake_leave(struct mb_quiesce *q, struct mb_error *e)
{
	called(q, "leave");
	return 0;
}

static int fake_prepare(struct mb_quiesce *q, struct mb_error *e)
{
	called(q, "prepare");
	return 0;
}

/* Fails when q->priv is set, like fake_enter. */
static int fake_ready(struct mb_quiesce *q, struct mb_error *e)
{
	called(q, "ready");
	return q->priv ? mb_fail(e, MB_ERR_QUIESCE, 0, "%s not ready", q->ops->name) : 0;
}

static const char *fake_source(struct mb_quiesce *q, const char *given, struct mb_error *e)
{
	return "/dictated";
}

static int fake_place(struct mb_quiesce *q, const struct mb_quiesce_leg *legs, size_t n,
		      struct mb_error *e)
{
	called(q, "place");
	return 0;
}

static enum mb_quiesce_keep fake_filter(struct mb_quiesce *q, const char *path)
{
	if (strcmp(path, "drop") == 0)
		return MB_QUIESCE_DROP;
	return strcmp(path, "link") == 0 ? MB_QUIESCE_AS_DIR : MB_QUIESCE_KEEP;
}

static void fake_filtered(struct mb_quiesce *q, size_t dropped)
{
	called(q, dropped == 1 ? "filtered(1)" : "filtered(?)");
}

static int fake_artifacts(struct mb_quiesce *q, struct mb_set *set, struct mb_error *e)
{
	called(q, "artifacts");
	return 0;
}

static int fake_manifest(struct mb_quiesce *q, struct mb_set *set, struct mb_error *e)
{
	called(q, "manifest");
	return 0;
}

static void fake_close(struct mb_quiesce *q)
{
	called(q, "close");
}

static const struct mb_quiesce_ops outer = {
	.name = "db", .bracket = "fake database", .source = fake_source, .place = fake_place,
	.prepare = fake_prepare, .ready = fake_ready, .enter = fake_enter, .leave = fake_leave,
	.filter = fake_filter,
	.filtered = fake_filtered, .artifacts = fake_artifacts, .manifest = fake_manifest,
	.close = fake_close,
};
static const struct mb_quiesce_ops inner = {
	.name = "fs", .in_window = true, .ready = fake_ready, .enter = fake_enter,
	.leave = fake_leave, .close = fake_close,
};

static const char *fake_guard(struct mb_quiesce *q)
{
	return q->priv ? NULL : "session 42";
}

static int fake_undo(const char *arg, const struct mb_undo_ctx *ctx, struct mb_error *e)
{
	return 0;
}

/* Outside the window, with what the guard ends at its deadline. */
static const struct mb_quiesce_ops held = {
	.name = "held", .enter = fake_enter, .leave = fake_leave, .guard = fake_guard,
	.undo = fake_undo,
};
/* A guard member without an undo gives the guard nothing to run. */
static const struct mb_quiesce_ops no_undo = {
	.name = "no-undo", .enter = fake_enter, .leave = fake_leave, .guard = fake_guard,
};

static void stack_of(struct mb_quiesce_stack *s, const struct mb_quiesce_ops *const *ops)
{
	memset(s, 0, sizeof(*s));
	for (; *ops; ops++) {
		s->v[s->n] = calloc(1, sizeof(struct mb_quiesce));
		s->v[s->n++]->ops = *ops;
	}
	calls[0] = '\0';
}

static void test_registry(void)
{
	struct mb_error e = { 0 };
	const struct mb_quiesce_ops *const *st;
	bool dictates = true;

	is_int(mb_quiesce_stack_check(NULL, &dictates, &e), -1, "--db is required");
	is_str(e.msg, "missing --db", "its message");
	is_str(e.hint, "--db none freezes the source filesystem around the split", "its hint");
	mb_error_clear(&e);
	mb_quiesce_stack_check("mysql", &dictates, &e);
	is_int(e.code, MB_ERR_USAGE, "an unknown --db is a usage error");
	is_str(e.msg, "unknown --db 'mysql'", "its message");
	is_str(e.hint, "use postgres, or none to freeze the source filesystem only", "its hint");
	ok(mb_quiesce_stack_check("none", &dictates, &e) == 0 && !dictates,
	   "none: --source is the user's");
	ok(mb_quiesce_stack_check("postgres", &dictates, &e) == 0 && dictates,
	   "postgres: the cluster names its source");
	st = mb_quiesce_stack_of("none");
	ok(st && strcmp(st[0]->name, "fsfreeze") == 0 && !st[1], "none = [fsfreeze]");
	st = mb_quiesce_stack_of("postgres");
	ok(st && strcmp(st[0]->name, "postgres") == 0 && strcmp(st[1]->name, "fsfreeze") == 0 &&
	   !st[2] && !st[0]->in_window && st[1]->in_window,
	   "postgres = [postgres, fsfreeze], the freeze in the window");
	ok(mb_quiesce_driver("fsfreeze") && mb_quiesce_driver("fsfreeze")->undo,
	   "fsfreeze has an undo");
	ok(mb_quiesce_driver("postgres") && mb_quiesce_driver("postgres")->undo &&
	   mb_quiesce_driver("postgres")->guard,
	   "postgres leaves the guard an undo (it ends the session at the deadline)");
	ok(!mb_quiesce_driver("fsfreeze")->guard, "fsfreeze leaves the guard none (it thaws itself)");
	ok(!mb_quiesce_driver("nope"), "an unknown plugin is not found");
}

/* recover finds each kind's undo through the registry that owns it. */
static void test_undo_lookup(void)
{
	ok(mb_obl_undo_for("freeze", "fsfreeze") == mb_quiesce_driver("fsfreeze")->undo,
	   "freeze: the quiesce registry");
	ok(mb_obl_undo_for("split", "loop") == mb_mirror_driver("loop")->undo &&
	   mb_obl_undo_for("split", "lvm") == mb_mirror_driver("lvm")->undo,
	   "split: the mirror registry");
	ok(mb_obl_undo_for("media", "file") == mb_media_driver("file")->undo && mb_media_driver("file")->undo, "media: the file driver's undo (its partial file)");
	ok(mb_obl_undo_for("media", "nosuch") == NULL, "media: an unknown driver has none");
	ok(mb_obl_undo_for("mount", "mount") != NULL, "mount: the orchestrator's own");
	ok(!mb_obl_undo_for("freeze", "nope") && !mb_obl_undo_for("split", "nope") &&
	   !mb_obl_undo_for("throttle", "cgroup"), "nothing for an unknown driver or kind");
}

static void test_enter_leave(void)
{
	struct mb_quiesce_stack s;
	struct mb_error e = { 0 };

	stack_of(&s, (const struct mb_quiesce_ops *[]){ &outer, &inner, NULL });
	is_str(mb_quiesce_stack_bracket(&s), "fake database", "the bracket is the outer plugin's");
	ok(mb_quiesce_stack_next(&s) == s.v[0] && mb_quiesce_stack_enter_next(&s, &e) == 0 &&
	   mb_quiesce_stack_next(&s) == s.v[1] && mb_quiesce_stack_enter_next(&s, &e) == 0 &&
	   !mb_quiesce_stack_next(&s), "enter in order");
	is_int(mb_quiesce_stack_enter_next(&s, &e), -1, "entering past the end is refused");
	is_str(e.msg, "quiesce stack entered past its end", "its message");
	mb_error_clear(&e);
	ok(mb_quiesce_stack_leave(&s, true, &e) == 0 && s.entered == 1,
	   "the window leaves first, alone");
	ok(mb_quiesce_stack_leave(&s, false, &e) == 0 && s.entered == 0 &&
	   mb_quiesce_stack_leave(&s, false, &e) == 0, "then the rest; a second leave does nothing");
	is_str(calls, "db.enter fs.enter fs.leave db.leave", "the calls, before close");
	calls[0] = '\0';
	mb_quiesce_stack_close(&s);
	is_str(calls, "fs.close db.close", "close newest first");
	is_int(s.n, 0, "the stack is empty after close");

	/* A failed enter counts as entered: leave is safe after it. */
	stack_of(&s, (const struct mb_quiesce_ops *[]){ &outer, &inner, NULL });
	s.v[1]->priv = s.v[1];
	ok(mb_quiesce_stack_enter_next(&s, &e) == 0 && mb_quiesce_stack_enter_next(&s, &e) == -1,
	   "the window's plugin fails to enter");
	s.v[1]->priv = NULL;
	mb_quiesce_stack_leave(&s, true, &e);
	mb_quiesce_stack_leave(&s, false, &e);
	is_str(calls, "db.enter fs.enter fs.leave db.leave", "both leave, newest first");
	is_str(e.msg, "fs refuses", "the enter's error is kept");
	mb_quiesce_stack_close(&s);
}

static void test_p0_and_prepare(void)
{
	struct mb_quiesce_stack s;
	struct mb_error e = { 0 };
	char *mounts[] = { "/srv/a", "/srv/b" };
	bool placed = false;

	stack_of(&s, (const struct mb_quiesce_ops *[]){ &inner, NULL });
	is_str(mb_quiesce_stack_source(&s, "/given", &e), "/given", "without a source op: --source");
	ok(mb_quiesce_stack_place(&s, NULL, 0, &placed, &e) == 0 && !placed, "nobody places");
	ok(!mb_quiesce_stack_bracket(&s), "no bracket outside the window");
	mb_quiesce_stack_close(&s);

	stack_of(&s, (const struct mb_quiesce_ops *[]){ &outer, &inner, NULL });
	is_str(mb_quiesce_stack_source(&s, "/given", &e), "/dictated", "a plugin dictates the source");
	ok(mb_quiesce_stack_place(&s, NULL, 0, &placed, &e) == 0 && placed, "a plugin places");
	ok(mb_quiesce_stack_prepare(&s, mounts, 2, (struct mb_obligations *)&e, &e) == 0 &&
	   s.v[1]->n_mounts == 2 && strcmp(s.v[1]->mounts[1], "/srv/b") == 0 &&
	   s.v[1]->mounts[1] != mounts[1] && s.v[0]->obl == (struct mb_obligations *)&e,
	   "prepare hands every plugin copies of the mounts and the obligations");
	is_int(mb_quiesce_stack_prepare(&s, mounts, 2, NULL, &e), -1, "a second prepare is refused");
	is_str(e.msg, "'db' prepared twice", "its message");
	is_str(calls, "db.place db.prepare", "place and prepare reach the plugins that have them");
	mb_quiesce_stack_close(&s);
}

/* Ready reaches the plugins not entered yet, in order; its error stops it. */
static void test_ready(void)
{
	struct mb_quiesce_stack s;
	struct mb_error e = { 0 };

	stack_of(&s, (const struct mb_quiesce_ops *[]){ &outer, &held, &inner, NULL });
	ok(mb_quiesce_stack_ready(&s, &e) == 0, "ready before any enter");
	is_str(calls, "db.ready fs.ready", "every plugin with a ready op, in order");
	calls[0] = '\0';
	mb_quiesce_stack_enter_next(&s, &e);
	mb_quiesce_stack_enter_next(&s, &e);
	ok(mb_quiesce_stack_ready(&s, &e) == 0, "ready after the outer plugins entered");
	is_str(calls, "db.enter held.enter fs.ready", "only the window's plugin readies");
	mb_quiesce_stack_close(&s);

	stack_of(&s, (const struct mb_quiesce_ops *[]){ &outer, &inner, NULL });
	s.v[0]->priv = s.v[0];
	is_int(mb_quiesce_stack_ready(&s, &e), -1, "a plugin not ready fails the call");
	is_str(calls, "db.ready", "the plugins after it are not readied");
	is_str(e.msg, "db not ready", "its error is kept");
	s.v[0]->priv = NULL;
	mb_quiesce_stack_close(&s);
}

/* What the guard is handed: entered plugins with guard and undo only. */
static void test_deadline(void)
{
	struct mb_quiesce_deadline d[MB_QUIESCE_MAX];
	struct mb_quiesce_stack s;
	struct mb_error e = { 0 };

	stack_of(&s, (const struct mb_quiesce_ops *[]){ &held, &no_undo, &inner, NULL });
	is_int(mb_quiesce_stack_deadline(&s, d), 0, "nothing entered: nothing for the guard");
	mb_quiesce_stack_enter_next(&s, &e);
	mb_quiesce_stack_enter_next(&s, &e);
	ok(mb_quiesce_stack_deadline(&s, d) == 1 && strcmp(d[0].name, "held") == 0 &&
	   d[0].undo == fake_undo && strcmp(d[0].arg, "session 42") == 0,
	   "an entered plugin's undo and its text; none without an undo");
	s.v[0]->priv = s.v[0];
	is_int(mb_quiesce_stack_deadline(&s, d), 0, "a plugin whose guard says NULL gives none");
	s.v[0]->priv = NULL;
	mb_quiesce_stack_close(&s);
}

static void test_filter_artifacts(void)
{
	static const char *const paths[] = { "drop", "keep", "link" };
	struct mb_quiesce_stack s;
	struct mb_set set = { 0 };
	struct mb_error e = { 0 };

	for (size_t i = 0; i < 3; i++) {
		struct mb_entry *ent = mb_set_add(&set);

		ent->path = strdup(paths[i]);
		ent->type = i == 2 ? MB_T_SYMLINK : MB_T_FILE;
		mb_entry_set_link(ent, i == 2 ? strdup("/production/wal") : NULL);
		ent->mode = i == 2 ? S_IFLNK | 0777 : S_IFREG | 0600;
	}
	stack_of(&s, (const struct mb_quiesce_ops *[]){ &inner, NULL });
	ok(!mb_quiesce_stack_filter(&s, &set) && set.n == 3, "no filter: the set is untouched");
	mb_quiesce_stack_close(&s);
	stack_of(&s, (const struct mb_quiesce_ops *[]){ &outer, &inner, NULL });
	ok(mb_quiesce_stack_filter(&s, &set), "a filter changes the set");
	ok(set.n == 2 && strcmp(set.v[0].path, "keep") == 0 && strcmp(set.v[1].path, "link") == 0,
	   "the dropped entry is gone, the order kept");
	ok(set.v[1].type == MB_T_DIR && !mb_entry_link(&set.v[1]) && set.v[1].mode == (S_IFDIR | 0700),
	   "the symlink became a private directory");
	ok(mb_quiesce_stack_artifacts(&s, &set, false, &e) == 0 &&
	   mb_quiesce_stack_artifacts(&s, &set, true, &e) == 0, "artifacts, then manifest");
	is_str(calls, "db.filtered(1) db.artifacts db.manifest", "each plugin told, in order");
	mb_quiesce_stack_close(&s);
	mb_set_free(&set);
}

int main(void)
{
	plan(57);
	test_registry();
	test_undo_lookup();
	test_enter_leave();
	test_p0_and_prepare();
	test_ready();
	test_deadline();
	test_filter_artifacts();
	return done_testing();
}
