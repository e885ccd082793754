-- The speed layer's raw rows: every event it consumed (duplicates it recognised excluded),
-- with the dimensions the stream derived and its Kafka position. Three things hang off it:
-- the materialized views below (hourly, per-second, error fingerprints), the resume position
-- of each partition (max kafka_offset: the position is what was written, not a commit that
-- can run ahead), and the attribution state restored after a restart or a rebalance.
CREATE TABLE IF NOT EXISTS events_rt (
  app_id LowCardinality(String),
  event_id String,
  ts DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  device_id String,
  type LowCardinality(String),
  name LowCardinality(String),
  country LowCardinality(String),
  os LowCardinality(String),
  app_version LowCardinality(String),
  currency LowCardinality(String),
  error_type LowCardinality(String),
  error_message String,
  fingerprint String,
  channel LowCardinality(String),
  campaign_id LowCardinality(String),
  fraud_reason LowCardinality(String),
  install_kind LowCardinality(String),
  revenue_micros Int64,
  ip String,
  ua LowCardinality(String),
  kafka_partition UInt16,
  kafka_offset UInt64
) ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (kafka_partition, kafka_offset);

CREATE MATERIALIZED VIEW IF NOT EXISTS hourly_rt_mv TO hourly_rt AS
SELECT app_id, toStartOfHour(ts) AS hour, type, name, country, os, app_version, currency, error_type,
       channel, campaign_id, fraud_reason, install_kind,
       toUInt64(count()) AS events, sum(revenue_micros) AS revenue_micros, uniqExactState(device_id) AS uv
FROM events_rt
GROUP BY app_id, hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id, fraud_reason, install_kind;

CREATE MATERIALIZED VIEW IF NOT EXISTS realtime_rt_mv TO realtime_rt AS
SELECT app_id, toDateTime(ts) AS second,
       toUInt64(count()) AS events,
       toUInt64(countIf(type = 'click')) AS clicks,
       toUInt64(countIf(install_kind IN ('attributed', 'organic', 'rejected'))) AS installs,
       toUInt64(countIf(type = 'error')) AS errors,
       uniqExactState(device_id) AS uv
FROM events_rt
GROUP BY app_id, second;

CREATE MATERIALIZED VIEW IF NOT EXISTS errors_rt_mv TO errors_rt AS
SELECT app_id, toStartOfMinute(ts) AS minute, fingerprint, error_type,
       toUInt64(count()) AS count, any(error_message) AS sample_message, max(ts) AS last_seen
FROM events_rt
WHERE type = 'error'
GROUP BY app_id, minute, fingerprint, error_type;
