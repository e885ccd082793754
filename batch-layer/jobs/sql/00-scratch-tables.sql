-- The scratch and staging tables of one run, named after it ({{RUN}}), so that a run never
-- reads or truncates another's (a run that lost its lease may still be running). MergeTree, so
-- that a large window spills to disk instead of failing for memory. The input rows themselves
-- are not copied: every step reads the pinned archive files (the *ROWS and *COUNTED fragments, recompute.ts) with only
-- the columns it needs, which costs far less than writing them into a table (a copy of the
-- read range took longer than all the steps that read it). Dropped when the run ends;
-- the next run that holds the lease drops what a killed run left (view-generations.ts).

-- Rows that do not count: non-winning copies (`repeat` 0) and a Kafka record's rows beyond the
-- first when it was archived more than once (`repeat` 1), by record position and file.
CREATE TABLE batch_scratch_losers_{{RUN}} (
  kafka_partition Int32,
  kafka_offset Int64,
  file_hash UInt64,
  ts Int64,
  repeat UInt8
) ENGINE = MergeTree ORDER BY (kafka_partition, kafka_offset);

-- The first install of each device with events in the window, decided by an earlier run or
-- backfill (its corrected time lies before the window): the state rule 1 reads.
CREATE TABLE batch_scratch_prior_{{RUN}} (
  app_id String,
  device_id String,
  install_event_id String,
  ts Int64,
  outcome LowCardinality(String),
  channel String,
  campaign_id String,
  fraud_reason LowCardinality(String)
) ENGINE = MergeTree ORDER BY (app_id, device_id);

-- First installs within the window (of devices without a prior one) with their device match
-- (rule 2) and the device's clicks of the flooding window; the probabilistic match and fraud
-- come after.
CREATE TABLE batch_scratch_installs_{{RUN}} (
  app_id LowCardinality(String),
  device_id String,
  event_id String,
  ts Int64,
  ip String,
  ua String,
  -- The device's winning click: (ts, event_id, channel, campaign_id, ip); event_id '' when none.
  device_click Tuple(Int64, String, String, String, String),
  clicks_24h UInt32
) ENGINE = MergeTree ORDER BY (app_id, device_id);

-- The probabilistic match (rule 3) of first installs without a device match: the winning
-- click's (ts, event_id, channel, campaign_id, ip).
CREATE TABLE batch_scratch_probabilistic_{{RUN}} (
  app_id String,
  device_id String,
  click Tuple(Int64, String, String, String, String)
) ENGINE = MergeTree ORDER BY (app_id, device_id);

-- The decision for every first install of the window.
CREATE TABLE batch_scratch_attribution_{{RUN}} (
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
) ENGINE = MergeTree ORDER BY (app_id, device_id);

-- The run's views, attached to the *_data tables day by day before the switch.
CREATE TABLE hourly_batch_staging_{{RUN}} AS hourly_batch_data;
CREATE TABLE attributions_batch_staging_{{RUN}} AS attributions_batch_data;
