-- Apps and their keys. Keys are stored as SHA-256 hex only; `updated_at` versions the row.
CREATE TABLE IF NOT EXISTS apps (
  app_id String,
  lookback_days UInt16,
  ip_blocklist Array(String),
  write_key_hash String,
  read_key_hash String,
  created_at DateTime64(3),
  updated_at DateTime64(3)
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY app_id;
