-- Views shared by the speed layer (_rt), the batch layer (_batch) and serving.
-- Hourly aggregates per app over every dimension of DESIGN.md section 5. Counts of each
-- metric are `events` filtered by `type` / `install_kind`; distinct devices are mergeable
-- uniqExact states, so they merge exactly across hours, days and the batch/speed seam.
-- install_kind: '' (not an install), 'attributed' | 'organic' | 'rejected' (first installs),
-- 'reinstall'.
CREATE TABLE IF NOT EXISTS hourly_rt (
  app_id LowCardinality(String),
  hour DateTime('UTC'),
  type LowCardinality(String),
  name LowCardinality(String),
  country LowCardinality(String),
  os LowCardinality(String),
  app_version LowCardinality(String),
  currency LowCardinality(String),
  error_type LowCardinality(String),
  channel LowCardinality(String),
  campaign_id LowCardinality(String),
  fraud_reason LowCardinality(String),
  install_kind LowCardinality(String),
  events SimpleAggregateFunction(sum, UInt64),
  revenue_micros SimpleAggregateFunction(sum, Int64),
  uv AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(hour)
ORDER BY (app_id, hour, type, install_kind, channel, campaign_id, country, os, app_version, name, currency, error_type, fraud_reason);

CREATE TABLE IF NOT EXISTS hourly_batch AS hourly_rt;

-- Per-second series of the last hours for the real-time endpoints.
CREATE TABLE IF NOT EXISTS realtime_rt (
  app_id LowCardinality(String),
  second DateTime('UTC'),
  events SimpleAggregateFunction(sum, UInt64),
  clicks SimpleAggregateFunction(sum, UInt64),
  installs SimpleAggregateFunction(sum, UInt64),
  errors SimpleAggregateFunction(sum, UInt64),
  uv AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
ORDER BY (app_id, second)
TTL second + INTERVAL 3 HOUR;

-- Error fingerprints per minute, for errors/top (window up to 24 h).
CREATE TABLE IF NOT EXISTS errors_rt (
  app_id LowCardinality(String),
  minute DateTime('UTC'),
  fingerprint String,
  error_type LowCardinality(String),
  count SimpleAggregateFunction(sum, UInt64),
  sample_message SimpleAggregateFunction(any, String),
  last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree
ORDER BY (app_id, minute, fingerprint, error_type)
TTL minute + INTERVAL 2 DAY;

-- First-install decisions. Speed: as the stream decided them; batch: exact, per day.
CREATE TABLE IF NOT EXISTS attributions_rt (
  app_id LowCardinality(String),
  install_event_id String,
  device_id String,
  ts DateTime64(3, 'UTC'),
  outcome LowCardinality(String),
  match LowCardinality(String),
  click_event_id String,
  channel LowCardinality(String),
  campaign_id LowCardinality(String),
  ctit_ms Nullable(Int64),
  fraud_reason LowCardinality(String),
  decided_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(decided_at)
PARTITION BY toDate(ts)
ORDER BY (app_id, ts, install_event_id);

CREATE TABLE IF NOT EXISTS attributions_batch AS attributions_rt;
