-- Where the speed layer writes its events_rt rows (speed-layer/events-rt-rows.ts): one JSON line
-- per event, the message as the collector wrote it with the stream's decisions appended
-- (_p partition, _o offset, _c channel, _m campaign, _f fraud reason, _k install kind, _g flush
-- group). Fields of the message not named here are skipped. Numbers are read as Float64, as
-- JSON.parse reads them, so that any JSON spelling of a number parses.
--
-- A Null table keeps nothing: its view computes the columns into events_rt. It has one target,
-- and an insert of the speed layer is one block, so one part of events_rt, written whole or
-- not at all (unlike the views of 004-speed.sql, which stay explicit inserts).
CREATE TABLE IF NOT EXISTS events_rt_incoming (
  app_id String,
  event_id String,
  ts Float64,
  received_at Float64,
  device_id String,
  type String,
  name String,
  country String,
  os String,
  app_version String,
  currency String,
  error_type String,
  error_message String,
  fingerprint String,
  revenue_micros Float64,
  ip String,
  ua String,
  _p UInt16,
  _o UInt64,
  _c String,
  _m String,
  _f String,
  _k String,
  _g String
) ENGINE = Null;

-- The type-dependent columns follow DESIGN.md section 5: a name only for custom events, a
-- currency and revenue only for purchases, an error type and message only for errors. Times
-- truncate to the millisecond, as `new Date(ms)` does.
CREATE MATERIALIZED VIEW IF NOT EXISTS events_rt_incoming_mv TO events_rt AS
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
  _c AS channel,
  _m AS campaign_id,
  _f AS fraud_reason,
  _k AS install_kind,
  if(type = 'purchase', toInt64(revenue_micros), 0) AS revenue_micros,
  ip,
  ua,
  _p AS kafka_partition,
  _o AS kafka_offset,
  _g AS flush_group
FROM events_rt_incoming;
