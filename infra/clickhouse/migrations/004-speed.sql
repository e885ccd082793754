-- The speed layer's raw rows: every event it consumed (duplicates it recognised excluded),
-- with the dimensions the stream derived and its Kafka position. Three things hang off it:
-- the views (hourly_rt, realtime_rt, errors_rt, filled from it per batch range by
-- speed-layer/realtime-views/views-writer.ts), the resume position of each partition (max
-- kafka_offset: the position is what was written, not a commit that can run ahead), and the
-- attribution state restored after a restart or a rebalance.
--
-- Not materialized views: a process killed inside one insert can leave the source part
-- written and some view parts not, and no resume position could tell. Explicit inserts with
-- deduplication tokens per (view, partition, offset range) can be redone safely.
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

-- How far each partition's rows have been applied to the views.
CREATE TABLE IF NOT EXISTS speed_progress (
  kafka_partition UInt16,
  views_through UInt64,
  at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (kafka_partition, views_through);

-- Clicks by (app, ip, ua): where a partition looks up the probabilistic match of an install
-- among the clicks other partitions have written (the key puts them in one index range).
CREATE TABLE IF NOT EXISTS clicks_by_ip_ua_rt (
  app_id LowCardinality(String),
  ip String,
  ua String,
  ts DateTime64(3, 'UTC'),
  event_id String,
  channel LowCardinality(String),
  campaign_id LowCardinality(String),
  kafka_partition UInt16
) ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (app_id, ip, ua, ts)
TTL toDateTime(ts) + INTERVAL 8 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Redoing a range's insert with the same token is a no-op within the last 1000 inserts.
ALTER TABLE hourly_rt MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE realtime_rt MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE errors_rt MODIFY SETTING non_replicated_deduplication_window = 1000;
