-- The speed layer decides in SQL over state kept here (speed-layer/group-commit.ts, rules/):
-- the process holds no attribution state, restores a partition by reading its position, and
-- every table below has a bound (DESIGN.md section 5, "Retention").
--
-- A flush group's rows as the collector wrote them, before anything is decided: the view of
-- events_rt_incoming now fills this table, and events_rt is written from it with the derived
-- dimensions the group's decisions give. Read only while its group is written or redone
-- (moments, or the next restart): two days of traffic at most, whole parts dropped.
ALTER TABLE events_rt ADD COLUMN IF NOT EXISTS written_at DateTime('UTC') MATERIALIZED now();
CREATE TABLE IF NOT EXISTS speed_staged AS events_rt
ENGINE = MergeTree
PARTITION BY toStartOfHour(written_at)
ORDER BY (flush_group, kafka_partition, kafka_offset)
TTL written_at + INTERVAL 2 DAY
SETTINGS ttl_only_drop_parts = 1;

-- The lines carry the event's own channel and campaign, read from the message like every other
-- field (the derived ones are decided after staging, speed-layer/sql/events-rt.sql).
DROP VIEW IF EXISTS events_rt_incoming_mv;
ALTER TABLE events_rt_incoming DROP COLUMN IF EXISTS _c, DROP COLUMN IF EXISTS _m, DROP COLUMN IF EXISTS _f, DROP COLUMN IF EXISTS _k;
ALTER TABLE events_rt_incoming ADD COLUMN IF NOT EXISTS channel String AFTER ua, ADD COLUMN IF NOT EXISTS campaign_id String AFTER channel;
CREATE MATERIALIZED VIEW IF NOT EXISTS events_rt_incoming_mv TO speed_staged AS
SELECT
  app_id,
  event_id,
  fromUnixTimestamp64Milli(toInt64(ts), 'UTC') AS ts,
  fromUnixTimestamp64Milli(toInt64(received_at), 'UTC') AS received_at,
  device_id,
  type,
  if(type = 'event', name, '') AS name,
  country,
  os,
  app_version,
  if(type = 'purchase', currency, '') AS currency,
  if(type = 'error', error_type, '') AS error_type,
  if(type = 'error', error_message, '') AS error_message,
  fingerprint,
  channel,
  campaign_id,
  '' AS fraud_reason,
  '' AS install_kind,
  if(type = 'purchase', toInt64(revenue_micros), 0) AS revenue_micros,
  ip,
  ua,
  _p AS kafka_partition,
  _o AS kafka_offset,
  _g AS flush_group
FROM events_rt_incoming;

-- The first installs a flush group decided (rules/ over the group and the state below), one
-- row per install, with the position of the install that won: written once per group (its
-- deduplication token), so that redoing a group after a crash applies the same decisions
-- instead of deciding again over state the group itself already changed.
CREATE TABLE IF NOT EXISTS speed_decisions (
  flush_group String,
  kafka_partition UInt16,
  kafka_offset UInt64,
  app_id String,
  device_id String,
  install_event_id String,
  ts DateTime64(3, 'UTC'),
  outcome LowCardinality(String),
  match LowCardinality(String),
  click_event_id String,
  channel String,
  campaign_id String,
  ctit_ms Nullable(Int64),
  fraud_reason LowCardinality(String),
  decided_at DateTime64(3, 'UTC'),
  staged_at DateTime('UTC') DEFAULT now()
) ENGINE = MergeTree
PARTITION BY toStartOfHour(staged_at)
ORDER BY (flush_group, kafka_partition, kafka_offset)
TTL staged_at + INTERVAL 2 DAY
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- Rule 1 is over all history: the first install of every device the stream has decided, with
-- the flush group that decided it. Bounded by the devices seen.
CREATE TABLE IF NOT EXISTS speed_first_installs (
  app_id String,
  device_id String,
  install_event_id String,
  ts DateTime64(3, 'UTC'),
  outcome LowCardinality(String),
  channel String,
  campaign_id String,
  flush_group String
) ENGINE = MergeTree
ORDER BY (app_id, device_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Every click by device, for rule 2 (the app's lookback, at most 30 days) and the flooding
-- count (24 h): kept 35 days after it was written (30 days, 24 h, and four days of late
-- arrival). Times of writing, not event times, bound the speed tables: events replayed or sent
-- late with old event times are decided like any others.
CREATE TABLE IF NOT EXISTS speed_device_clicks (
  app_id String,
  device_id String,
  ts DateTime64(3, 'UTC'),
  event_id String,
  ip String,
  channel String,
  campaign_id String,
  written_at DateTime('UTC') MATERIALIZED now()
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(written_at)
ORDER BY (app_id, device_id, ts)
TTL written_at + INTERVAL 35 DAY
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- The state of a deployment that ran before: its first installs and recent clicks, from the
-- rows it wrote.
INSERT INTO speed_first_installs
SELECT app_id, device_id, first.1, first.2, first.3, first.4, first.5, ''
FROM (
  SELECT CAST(app_id AS String) AS app_id, device_id,
         argMin(tuple(event_id, ts, CAST(install_kind AS String), CAST(channel AS String), CAST(campaign_id AS String)), tuple(ts, event_id)) AS first
  FROM events_rt WHERE install_kind IN ('attributed', 'organic', 'rejected')
  GROUP BY app_id, device_id
);
INSERT INTO speed_device_clicks (app_id, device_id, ts, event_id, ip, channel, campaign_id)
SELECT app_id, device_id, ts, event_id, ip, channel, campaign_id
FROM events_rt WHERE type = 'click' AND received_at >= now64(3) - INTERVAL 35 DAY;

-- Which member owns each partition: a claim per partition and join, its epoch one past the
-- partition's last (speed-layer/partition-owners.ts). Every write of a flush group is an
-- INSERT … SELECT that writes nothing unless the member's claim is still the latest of each
-- of its partitions, so a member whose session lapsed (frozen, partitioned away) and that
-- goes on writing adds nothing. One row per partition once merged.
CREATE TABLE IF NOT EXISTS speed_owners (
  kafka_partition UInt16,
  epoch UInt64,
  claim String,
  at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(epoch)
ORDER BY kafka_partition;

-- events_rt is read only to apply a group to the views (moments after it is written, or at the
-- next restart) and to refill the dedup window; the flush groups' ranges only to redo one.
-- Two days after they were written bound them, as the staged rows (a process down longer
-- than that decides the events of a group it was writing again, from Kafka).
ALTER TABLE events_rt MODIFY TTL written_at + INTERVAL 2 DAY;
-- The clicks the probabilistic match reads (24 h of event time, four days of late arrival):
-- eight days after they were written, instead of eight days after their event time.
ALTER TABLE clicks_by_ip_ua_rt ADD COLUMN IF NOT EXISTS written_at DateTime('UTC') MATERIALIZED now();
ALTER TABLE clicks_by_ip_ua_rt MODIFY TTL written_at + INTERVAL 8 DAY;
ALTER TABLE speed_flush_groups MODIFY TTL at + INTERVAL 2 DAY;
-- Each write of a group has a deduplication token (its redo writes nothing twice).
ALTER TABLE events_rt MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE attributions_rt MODIFY SETTING non_replicated_deduplication_window = 1000;
