/* Is the WAL from a backup's start to a target in the archive?  See
 * wal_archive.h. */
#include "orchestrator/wal_archive.h"

#include <stdio.h>
#include <string.h>

static uint32_t latest_in_scan(const struct mb_wal_scan *s, uint32_t start_tli)
{
	uint32_t t = start_tli;

	while (t < UINT32_MAX && mb_wal_scan_has_history(s, t + 1))
		t++;
	return t;
}

int mb_wal_archive_latest_timeline(const char *archive, const struct mb_s3_settings *s3,
				   uint32_t start_tli, uint32_t *tli, struct mb_error *e)
{
	char name[MB_WAL_NAME_MAX];
	struct mb_wal_store *s;
	struct mb_wal_entry en;
	int rc = 0;

	if (mb_wal_store_open(archive, s3, &s, e) < 0) {
		e->code = MB_ERR_NOT_FOUND;
		return -1;
	}
	for (*tli = start_tli; *tli < UINT32_MAX; ++*tli) {
		snprintf(name, sizeof(name), "%08X.history", *tli + 1);
		if ((rc = s->ops->stat(s, name, &en, e)) != 0)
			break;
	}
	mb_wal_store_close(s);
	return rc < 0 ? -1 : 0;
}

/* The newest complete segment archived on the path h->v[first..]. */
static uint64_t newest_on_path(const struct mb_wal_scan *s, const struct mb_wal_history *h,
			       size_t first, uint64_t start_seg)
{
	uint64_t best = start_seg;

	for (size_t i = 0; i < s->n_segs; i++)
		for (size_t k = first; k < h->n; k++) {
			const struct mb_wal_tl *tl = &h->v[k];

			if (s->segs[i].tli == tl->tli && s->segs[i].segno > best &&
			    s->segs[i].segno >= mb_wal_segno(tl->begin, s->seg_size) &&
			    (tl->end == UINT64_MAX ||
			     s->segs[i].segno <= mb_wal_segno(tl->end, s->seg_size)))
				best = s->segs[i].segno;
		}
	return best;
}

/* Walks start_seg..end on the path; 1 with gap at the first hole. */
static int walk(const struct mb_wal_scan *s, const struct mb_wal_history *h, size_t first,
		uint64_t start_seg, uint64_t end, struct mb_wal_gap *gap)
{
	size_t k = first;

	for (uint64_t segno = start_seg; segno <= end; segno++) {
		while (k + 1 < h->n && mb_wal_segno(h->v[k + 1].begin, s->seg_size) <= segno)
			k++;
		if (!mb_wal_scan_has(s, h->v[k].tli, segno)) {
			mb_wal_seg_name(h->v[k].tli, segno, s->seg_size, gap->first_missing);
			gap->tli = h->v[k].tli;
			gap->lsn = segno * s->seg_size;
			return 1;
		}
		mb_wal_seg_name(h->v[k].tli, segno, s->seg_size, gap->last);
	}
	return 0;
}

/* The history of target (from the archive), and where start_tli is in it. */
static int target_history(struct mb_wal_store *archive, const struct mb_wal_scan *s, uint32_t start_tli,
			  uint64_t start_lsn, uint32_t target, struct mb_wal_history *h,
			  size_t *first, struct mb_wal_gap *gap, struct mb_error *e)
{
	const struct mb_wal_tl *tl;
	char lsn[MB_WAL_LSN_MAX];

	if (target > 1 && !mb_wal_scan_has_history(s, target)) {
		snprintf(gap->first_missing, sizeof(gap->first_missing), "%08X.history", target);
		gap->tli = target;
		return 1;
	}
	if (mb_wal_history_load(archive, target, h, e) < 0)
		return -1;
	tl = mb_wal_history_find(h, start_tli);
	if (!tl || start_lsn >= tl->end) {
		mb_wal_lsn_format(start_lsn, lsn);
		mb_wal_history_free(h);
		return mb_fail(e, MB_ERR_NOT_FOUND, 0, "timeline %u does not descend from "
			       "timeline %u at %s", target, start_tli, lsn);
	}
	*first = (size_t)(tl - h->v);
	return 0;
}

int mb_wal_scan_check(struct mb_wal_store *archive, const struct mb_wal_scan *s, uint32_t start_tli,
		      uint64_t start_lsn, uint32_t target_tli, uint64_t end_lsn,
		      struct mb_wal_gap *gap, struct mb_error *e)
{
	uint64_t start_seg = mb_wal_segno(start_lsn, s->seg_size), end;
	struct mb_wal_history h = { 0 };
	size_t first = 0;
	int rc;

	*gap = (struct mb_wal_gap){ 0 };
	gap->target_tli = target_tli ? target_tli : latest_in_scan(s, start_tli);
	if (start_tli == 0 || gap->target_tli < start_tli)
		return mb_fail(e, MB_ERR_NOT_FOUND, 0, "timeline %u does not descend from "
			       "timeline %u", gap->target_tli, start_tli);
	rc = target_history(archive, s, start_tli, start_lsn, gap->target_tli, &h, &first, gap, e);
	if (rc != 0)
		return rc;
	end = end_lsn ? mb_wal_segno(end_lsn, s->seg_size) : newest_on_path(s, &h, first, start_seg);
	if (end < start_seg)
		end = start_seg;
	gap->end_segno = end;
	rc = walk(s, &h, first, start_seg, end, gap);
	mb_wal_history_free(&h);
	return rc;
}

int mb_wal_archive_check(const char *archive, const struct mb_s3_settings *s3, uint32_t start_tli,
			 uint64_t start_lsn,
			 uint32_t target_tli, uint64_t end_lsn, struct mb_wal_gap *gap,
			 struct mb_error *e)
{
	struct mb_wal_store *st;
	struct mb_wal_scan s;
	int rc = -1;

	if (mb_wal_store_open(archive, s3, &st, e) < 0)
		return -1;
	if (mb_wal_scan(st, &s, e) == 0) {
		rc = mb_wal_scan_check(st, &s, start_tli, start_lsn, target_tli, end_lsn, gap, e);
		mb_wal_scan_free(&s);
	}
	mb_wal_store_close(st);
	return rc;
}
