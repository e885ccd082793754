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

-- Scratch of one run (truncated at its start; one run at a time holds the lease).
-- Non-winning copies of duplicated events, by Kafka position.
CREATE TABLE IF NOT EXISTS batch_scratch_losers (
  kafka_partition Int32,
  kafka_offset Int64,
  ts Int64
) ENGINE = Memory;

-- Winning clicks and installs up to the end of the recomputed window.
CREATE TABLE IF NOT EXISTS batch_scratch_touches (
  app_id String,
  device_id String,
  event_id String,
  type LowCardinality(String),
  ts Int64,
  ip String,
  -- `ip` as isIPAddressInRange reads it: IPv4 (also from ::ffff:a.b.c.d), canonical IPv6,
  -- or '' when it is no address (the blocklist check then never matches).
  ip_norm String,
  ua String,
  channel String,
  campaign_id String
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
