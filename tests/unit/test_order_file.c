/*
 * --order-file: the file's syntax (comments, blanks, "./", trailing '/',
 * refused lines with their line number) and the reordering (directories
 * first, globs that stop at '/', a directory's files, a hard link as its
 * first name, each file once, the rest in logical order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestrator/order_file.h"
#include "tests/lib/tap.h"

static struct mb_entry ents[32];
static struct mb_entry *v[32];
static size_t n;

static void add(const char *path, char type, const char *target)
{
	memset(&ents[n], 0, sizeof(ents[n]));
	ents[n].path = (char *)path;
	ents[n].type = type;
	mb_entry_set_link(&ents[n], target ? strdup(target) : NULL);
	v[n] = &ents[n];
	n++;
}

/* The paths of v, space-separated. */
static const char *order(void)
{
	static char buf[1024];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "",
			 v[i]->path);
	return buf;
}

static int load_text(const char *text, struct mb_order_file *of, struct mb_error *e)
{
	char path[] = "/tmp/order-file-t.XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	close(fd);
	rc = mb_order_file_load(path, of, e);
	unlink(path);
	return rc;
}

static void set_up(void)
{
	n = 0;	/* logical order */
	add("a", MB_T_DIR, NULL);
	add("a/x", MB_T_FILE, NULL);
	add("a/y", MB_T_FILE, NULL);
	add("b", MB_T_DIR, NULL);
	add("b/c", MB_T_DIR, NULL);
	add("b/c/d", MB_T_FILE, NULL);
	add("b/e", MB_T_FILE, NULL);
	add("b/e.1", MB_T_FILE, NULL);
	add("b/e_fsm", MB_T_FILE, NULL);
	add("b/h", MB_T_HARDLINK, "a/y");
	add("z", MB_T_FILE, NULL);
}

static const char *reordered(const char *text, size_t *moved)
{
	struct mb_order_file of;
	static struct mb_error e;

	memset(&e, 0, sizeof(e));
	set_up();
	if (load_text(text, &of, &e) < 0 || mb_order_file_apply(&of, v, n, moved, &e) < 0)
		return e.msg;
	mb_order_file_free(&of);
	return order();
}

static void refused(const char *text, unsigned line, const char *what)
{
	struct mb_order_file of;
	struct mb_error e = { 0 };
	char want[256];

	ok(load_text(text, &of, &e) < 0 && e.code == MB_ERR_USAGE, what);
	snprintf(want, sizeof(want), "line %u: '", line);
	ok(strstr(e.msg, want) && strstr(e.msg, "is not a path below the source"), e.msg);
}

int main(void)
{
	size_t moved = 0;

	is_str(reordered("", &moved), "a b b/c a/x a/y b/c/d b/e b/e.1 b/e_fsm b/h z",
	       "an empty file: directories first, the rest in logical order");
	is_int(moved, 0, "nothing moved");
	is_str(reordered("# hot\n\n  z  \n./b/e[._]*\nb/e\n", &moved),
	       "a b b/c z b/e.1 b/e_fsm b/e a/x a/y b/c/d b/h", "a path, a glob (logical order), a path");
	is_int(moved, 4, "four moved");
	is_str(reordered("*\n", &moved), "a b b/c a/x a/y b/c/d b/e b/e.1 b/e_fsm z b/h",
	       "'*' stops at '/': the top's files (a directory matched: its files too)");
	is_str(reordered("b/\n", &moved), "a b b/c b/c/d b/e b/e.1 b/e_fsm a/y a/x b/h z",
	       "a directory: every file below it, a hard link as its first name");
	is_str(reordered("b/h\nz\nb/h\n", &moved), "a b b/c a/y z a/x b/c/d b/e b/e.1 b/e_fsm b/h",
	       "a hard link names its first name; each file once");
	is_int(moved, 2, "two moved");
	is_str(reordered("nothing/here\nb/e?x\n", &moved), "a b b/c a/x a/y b/c/d b/e b/e.1 b/e_fsm b/h z",
	       "lines that match nothing change nothing");
	refused("z\n/etc/passwd\n", 2, "an absolute path is refused");
	refused("# c\n..\n", 2, "'..' is refused");
	refused("a/../../b\n", 1, "a '..' component is refused");
	refused("./\n", 1, "the source itself is refused");
	{
		struct mb_order_file of;
		struct mb_error e = { 0 };

		load_text(" ./ \n", &of, &e);
		ok(strstr(e.msg, "line 1: './' is not"), "the line is named as written");
	}
	{
		struct mb_order_file of;
		struct mb_error e = { 0 };

		ok(mb_order_file_load("/nonexistent/order", &of, &e) < 0 && e.code == MB_ERR_USAGE,
		   "a missing file is a usage error");
		is_str(e.msg, "unable to read the order file '/nonexistent/order': No such file or directory",
		       "its message");
	}
	return done_testing();
}
