/*
 * Content checksums: XXH3-128 (libxxhash).  Chosen for speed (tens of GB/s,
 * never the bottleneck of a stream) and strength against accidental damage;
 * it is not a cryptographic signature.  Rendered as 32 lowercase hex digits.
 */
#ifndef MB_HASH_H
#define MB_HASH_H

#include <stddef.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define MB_HASH_HEX_LEN 32

struct mb_hash {
	XXH3_state_t state;
};

void mb_hash_init(struct mb_hash *h);
void mb_hash_update(struct mb_hash *h, const void *buf, size_t len);
/* Writes MB_HASH_HEX_LEN hex digits and a NUL into hex. */
void mb_hash_final_hex(struct mb_hash *h, char hex[MB_HASH_HEX_LEN + 1]);
/* The 128 bits themselves: 16 bytes where many are held (the writer keeps
 * one per file member until the trailer), not 33 of hex. */
typedef XXH128_hash_t mb_hash_raw;
mb_hash_raw mb_hash_final_raw(struct mb_hash *h);
void mb_hash_raw_hex(mb_hash_raw v, char hex[MB_HASH_HEX_LEN + 1]);
/* One-shot convenience. */
void mb_hash_buf_hex(const void *buf, size_t len, char hex[MB_HASH_HEX_LEN + 1]);

#endif
