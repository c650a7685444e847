-- deploy/order-hint.sql - an order file for mbackup --order-file: the
-- relations this database writes most, hottest first, as paths below the
-- data directory.  Streamed first from a thin snapshot with discard-behind,
-- they are on the media (and their snapshot blocks given back) before most
-- of their overwrites, which then cost the pool no copy.
--   psql -X -At -d DBNAME -f deploy/order-hint.sql > /etc/mbackup/hot.order
-- Run it in each database whose writes matter, appending; the writes are
-- those counted since the statistics were last reset (pg_stat_reset), so a
-- nightly run ranks the day's load.  A table's indexes rank with it (their
-- writes follow the table's); a relation's own file comes first, then its
-- other segments and forks (the glob: .1 .2 ..., _fsm, _vm, _init).
WITH w AS (
	SELECT relid, n_tup_ins + n_tup_upd + n_tup_del AS writes
	FROM pg_stat_all_tables
	WHERE n_tup_ins + n_tup_upd + n_tup_del > 0
), rel AS (
	SELECT relid AS oid, writes FROM w
	UNION ALL
	SELECT i.indexrelid, w.writes FROM w JOIN pg_index i ON i.indrelid = w.relid
)
SELECT p || E'\n' || p || '[._]*'
FROM (SELECT pg_relation_filepath(oid) AS p, writes FROM rel) r
WHERE p IS NOT NULL
ORDER BY writes DESC, p;
