/* Segments compressed for the archive and back; see wal_file.h.  One
 * frame per file (ZSTD_compress2 with the checksum flag): what `zstd -d`
 * reads, with the frame's own content size and XXH64 on top of the
 * archive's XXH3-128 of the uncompressed bytes. */
#include "orchestrator/wal_file.h"

#include <errno.h>
#include <stdlib.h>
#include <zstd.h>

int mb_wal_zstd_pack(const void *in, size_t len, int level, void **out, size_t *out_len,
		     struct mb_error *e)
{
	size_t cap = ZSTD_compressBound(len), n;
	ZSTD_CCtx *z = ZSTD_createCCtx();
	void *buf = malloc(cap ? cap : 1);

	*out = NULL;
	if (!z || !buf) {
		ZSTD_freeCCtx(z);
		free(buf);
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to compress a WAL file");
	}
	ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(z, buf, cap, in, len);
	ZSTD_freeCCtx(z);
	if (ZSTD_isError(n)) {
		free(buf);
		return mb_fail(e, MB_ERR_GENERAL, 0, "unable to compress a WAL file: %s",
			       ZSTD_getErrorName(n));
	}
	*out = buf;
	*out_len = n;
	return 0;
}

int mb_wal_zstd_unpack(const void *in, size_t len, size_t max, const char *where, void **out,
		       size_t *out_len, struct mb_error *e)
{
	unsigned long long size = ZSTD_getFrameContentSize(in, len);
	void *buf;
	size_t n;

	*out = NULL;
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max)
		return mb_fail(e, MB_ERR_CORRUPT, 0, "archived '%s' is damaged: no zstd frame of "
			       "at most %zu bytes", where, max);
	if (!(buf = malloc(size ? size : 1)))
		return mb_fail(e, MB_ERR_GENERAL, ENOMEM, "unable to decompress '%s'", where);
	n = ZSTD_decompress(buf, size, in, len);
	if (ZSTD_isError(n) || n != size) {
		free(buf);
		return mb_fail(e, MB_ERR_CORRUPT, 0, "archived '%s' is damaged: %s", where,
			       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame");
	}
	*out = buf;
	*out_len = n;
	return 0;
}
