/* See range.h. */
#include "common/range.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int mb_read_range(const char *path, uint64_t off, uint64_t len, char *buf, size_t cap,
		  mb_emit_fn emit, void *emit_arg, struct mb_error *e)
{
	return mb_read_range_pieces(path, off, len, buf, cap, NULL, NULL, emit, emit_arg, e);
}

int mb_read_range_pieces(const char *path, uint64_t off, uint64_t len, char *buf, size_t cap,
			 mb_range_piece_fn piece, void *piece_arg, mb_emit_fn emit,
			 void *emit_arg, struct mb_error *e)
{
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mb_fail(e, MB_ERR_IO, errno, "unable to open '%s'", path);
	while (rc == 0 && len > 0) {
		size_t want = len < cap ? (size_t)len : cap, asked = want;
		ssize_t n;

		if (piece && (rc = piece(piece_arg, &want, e)) < 0)
			break;
		if (want == 0 || want > asked)
			want = asked;
		do	/* a signal with a handler (not SA_RESTART) may cut a read short */
			n = pread(fd, buf, want, (off_t)off);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			rc = mb_fail(e, MB_ERR_IO, n < 0 ? errno : 0, "unable to read '%s' at %llu",
				     path, (unsigned long long)off);
			break;
		}
		rc = emit(emit_arg, buf, (size_t)n, e);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	close(fd);
	return rc;
}
