/* The publish obligation's undo (orchestrator/publish.c): it removes the
 * image the run renamed into place, and only that file. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/publish.h"
#include "tests/lib/tap.h"

static uint64_t make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct stat st;

	if (fd < 0 || write(fd, "x", 1) != 1 || fstat(fd, &st) < 0)
		abort();
	close(fd);
	return st.st_ino;
}

int main(void)
{
	char dir[] = "/tmp/test_publish.XXXXXX", path[256], other[256], arg[600];
	struct mb_error e = { 0 };
	uint64_t ino, old;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/img with space.mbi", dir);
	snprintf(other, sizeof(other), "%s/other", dir);

	/* The run's own file under the final name: removed. */
	ino = make_file(path);
	snprintf(arg, sizeof(arg), "%" PRIu64 " %s", ino, path);
	is_int(mb_publish_undo(arg, &(struct mb_undo_ctx){ 0 }, &e), 0, "undo of the run's image succeeds");
	ok(access(path, F_OK) < 0, "... and the image is gone");
	is_int(mb_publish_undo(arg, &(struct mb_undo_ctx){ 0 }, &e), 0, "undo again (nothing there) succeeds");

	/* Another file under the name (an older image, the rename never
	 * happened): left alone. */
	old = make_file(other);
	make_file(path);
	snprintf(arg, sizeof(arg), "%" PRIu64 " %s", old, path);
	is_int(mb_publish_undo(arg, &(struct mb_undo_ctx){ 0 }, &e), 0, "undo with another file under the name succeeds");
	ok(access(path, F_OK) == 0, "... and leaves that file");

	is_int(mb_publish_undo("12", &(struct mb_undo_ctx){ 0 }, &e), -1, "an obligation without a path is refused");
	is_str(e.msg, "invalid image obligation '12'", "... with its message");
	mb_error_clear(&e);
	is_int(mb_publish_undo("x /a", &(struct mb_undo_ctx){ 0 }, &e), -1, "an obligation without an inode is refused");

	/* The directory flush of a rename. */
	mb_error_clear(&e);
	is_int(mb_publish_sync_dir(path, &e), 0, "the directory of an image is flushed");
	is_int(mb_publish_sync_dir("/nonexistent-publish/x", &e), -1, "a missing directory fails");
	is_str(e.msg, "unable to flush directory '/nonexistent-publish': No such file or directory",
	       "... with its message");

	unlink(path);
	unlink(other);
	rmdir(dir);
	return done_testing();
}
