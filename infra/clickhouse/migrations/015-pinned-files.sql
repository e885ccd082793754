-- The archive files a batch statement reads (batch-layer/jobs/archive-source.ts), one set per
-- statement. The list is data: as a query parameter it went in the URL, which a ClickHouse
-- server refuses over http_max_uri_size (1 MiB), and a run reads thousands of files. A set is
-- read only while its run lasts: a day bounds the table.
CREATE TABLE IF NOT EXISTS pinned_files_batch (
  set_id String,
  name String,
  pinned_at DateTime('UTC') DEFAULT now()
) ENGINE = MergeTree
ORDER BY (set_id, name)
TTL pinned_at + INTERVAL 1 DAY;
