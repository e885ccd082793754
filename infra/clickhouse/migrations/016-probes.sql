-- The (app, ip, ua) probes of a speed-layer lookup of other partitions' clicks
-- (speed-layer/partition-processor.ts), one set per lookup, passed as data (infra/clickhouse/
-- row-sets.ts): as query parameters the arrays went in the URL, which a server refuses over
-- 1 MiB. A set is read once, right after it is written: an hour bounds the table.
CREATE TABLE IF NOT EXISTS probes_rt (
  set_id String,
  app_id String,
  ip String,
  ua String,
  created_at DateTime('UTC') DEFAULT now()
) ENGINE = MergeTree
ORDER BY set_id
TTL created_at + INTERVAL 1 HOUR;
