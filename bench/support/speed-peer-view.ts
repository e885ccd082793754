/**
 * The hourly view the speed bench's Kappa peer computes (`count()` + `uniqExactState(device_id)`
 * per app, hour, type and the event's own dimensions, into an AggregatingMergeTree), shared by
 * the peer (fed by the Kafka table engine) and the raw floor (fed by a kafkajs consumer), so
 * that the two differ only in who consumes the topic.
 */

/** The message fields the view reads, as JSONEachRow columns (the rest are skipped). */
export const PEER_COLUMNS = `app_id String, type String, ts Int64, device_id String, name String, country String, os String,
  app_version String, currency String, error_type String, channel String, campaign_id String, revenue_micros Int64`;

export const PEER_HOURLY_TARGET = `
CREATE TABLE peer_hourly (
  app_id LowCardinality(String), hour DateTime('UTC'), type LowCardinality(String), name LowCardinality(String),
  country LowCardinality(String), os LowCardinality(String), app_version LowCardinality(String),
  currency LowCardinality(String), error_type LowCardinality(String), channel LowCardinality(String),
  campaign_id LowCardinality(String),
  events SimpleAggregateFunction(sum, UInt64), revenue_micros SimpleAggregateFunction(sum, Int64),
  uv AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(hour)
ORDER BY (app_id, hour, type, channel, campaign_id, country, os, app_version, name, currency, error_type)`;

/** The view's SELECT over a table of PEER_COLUMNS. */
export const PEER_HOURLY_SELECT = (source: string) => `
SELECT app_id, toStartOfHour(fromUnixTimestamp64Milli(ts, 'UTC')) AS hour, type, name, country, os, app_version, currency,
       error_type, channel, campaign_id,
       toUInt64(count()) AS events, sum(revenue_micros) AS revenue_micros, uniqExactState(device_id) AS uv
FROM ${source}
GROUP BY app_id, hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id`;
