/* XXH3-128 checksums; see hash.h. */
#include "common/hash.h"

#include <stdio.h>

void mb_hash_init(struct mb_hash *h)
{
	XXH3_128bits_reset(&h->state);
}

void mb_hash_update(struct mb_hash *h, const void *buf, size_t len)
{
	XXH3_128bits_update(&h->state, buf, len);
}

mb_hash_raw mb_hash_final_raw(struct mb_hash *h)
{
	return XXH3_128bits_digest(&h->state);
}

void mb_hash_raw_hex(mb_hash_raw v, char hex[MB_HASH_HEX_LEN + 1])
{
	snprintf(hex, MB_HASH_HEX_LEN + 1, "%016llx%016llx",
		 (unsigned long long)v.high64, (unsigned long long)v.low64);
}

void mb_hash_final_hex(struct mb_hash *h, char hex[MB_HASH_HEX_LEN + 1])
{
	mb_hash_raw_hex(mb_hash_final_raw(h), hex);
}

void mb_hash_buf_hex(const void *buf, size_t len, char hex[MB_HASH_HEX_LEN + 1])
{
	struct mb_hash h;

	mb_hash_init(&h);
	mb_hash_update(&h, buf, len);
	mb_hash_final_hex(&h, hex);
}
