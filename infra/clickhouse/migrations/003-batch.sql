-- Batch layer (DESIGN.md sections 5 and 7): run records, covered days, the cross-process run
-- lease, the staging tables swapped into the batch views, and per-run scratch tables.

-- One row per run, versioned: every status change inserts the whole row again with a higher
-- `version`; readers take `FINAL`. JSON columns hold the run's attribution diff and drift.
CREATE TABLE IF NOT EXISTS batch_runs (
  id String,
  day Date,
  days Array(Date),
  status LowCardinality(String),
  requested_at DateTime64(3, 'UTC'),
  started_at Nullable(DateTime64(3, 'UTC')),
  finished_at Nullable(DateTime64(3, 'UTC')),
  rows_read UInt64,
  duplicates_dropped UInt64,
  late_events UInt64,
  input_files UInt64,
  error String,
  attribution_diff String,
  drift String,
  -- Kafka high watermarks of the events topic when the run was requested (JSON).
  watermarks String,
  -- The process that owns a queued or running run, and when it last said it is alive: a run
  -- whose owner stopped heart-beating is reported as failed instead of blocking its days.
  owner String,
  heartbeat_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- Days whose batch views a succeeded run replaced. Boundary = end of the latest one.
CREATE TABLE IF NOT EXISTS batch_covered_days (
  day Date,
  run_id String,
  covered_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(covered_at)
ORDER BY day;

-- Lease claims: one run at a time across processes (batch-layer/run-lease.ts).
CREATE TABLE IF NOT EXISTS batch_lease (
  name LowCardinality(String),
  token String,
  holder String,
  claimed_at DateTime64(6, 'UTC'),
  expires_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (name, token);

-- Built by a run, then swapped into the views one day partition at a time.
CREATE TABLE IF NOT EXISTS hourly_batch_staging AS hourly_batch;
CREATE TABLE IF NOT EXISTS attributions_batch_staging AS attributions_batch;

-- Scratch of one run (truncated at its start and end; one run at a time holds the lease).
-- Memory tables: written once, read a few times, gone with the run.

-- Every input row, read once from the archive files with only the columns the recompute
-- needs: the later steps scan this table instead of re-reading (and re-decoding) the files.
CREATE TABLE IF NOT EXISTS batch_scratch_events (
  key_hash UInt64,            -- cityHash64(app_id, event_id): dedup groups by it first
  in_window UInt8,            -- the row's file lies in a recomputed day directory
  app_id LowCardinality(String),
  event_id String,
  type LowCardinality(String),
  ts Int64,
  received_at Int64,
  kafka_partition Int32,
  kafka_offset Int64,
  device_id String,
  ip String,                  -- clicks and installs only ('' otherwise)
  ua LowCardinality(String),  -- clicks and installs only
  channel LowCardinality(String),
  campaign_id LowCardinality(String),
  name LowCardinality(String),
  country LowCardinality(String),
  os LowCardinality(String),
  app_version LowCardinality(String),
  currency LowCardinality(String),
  error_type LowCardinality(String),
  revenue_micros Int64
) ENGINE = Memory;

-- Non-winning copies of duplicated events, by Kafka position.
CREATE TABLE IF NOT EXISTS batch_scratch_losers (
  kafka_partition Int32,
  kafka_offset Int64,
  ts Int64
) ENGINE = Memory;

-- Every first install up to the end of the window, with its device match (rule 2) and the
-- device's clicks of the flooding window; the probabilistic match and fraud come after.
CREATE TABLE IF NOT EXISTS batch_scratch_installs (
  app_id LowCardinality(String),
  device_id String,
  event_id String,
  ts Int64,
  ip String,
  ua String,
  -- The device's winning click: (ts, event_id, channel, campaign_id, ip); event_id '' when none.
  device_click Tuple(Int64, String, String, String, String),
  clicks_24h UInt32
) ENGINE = Memory;

-- The probabilistic match (rule 3) of first installs without a device match: the winning
-- click's (ts, event_id, channel, campaign_id, ip).
CREATE TABLE IF NOT EXISTS batch_scratch_probabilistic (
  app_id String,
  device_id String,
  click Tuple(Int64, String, String, String, String)
) ENGINE = Memory;

-- The decision for every first install up to the end of the window.
CREATE TABLE IF NOT EXISTS batch_scratch_attribution (
  app_id String,
  device_id String,
  install_event_id String,
  ts Int64,
  outcome LowCardinality(String),
  match LowCardinality(String),
  click_event_id String,
  channel String,
  campaign_id String,
  ctit_ms Nullable(Int64),
  fraud_reason LowCardinality(String)
) ENGINE = Memory;
