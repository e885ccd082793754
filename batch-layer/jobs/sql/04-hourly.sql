-- The hourly batch view of the window's days from the winning copy of every event, with the
-- derived dimensions of DESIGN.md section 5:
--   channel, campaign_id: impressions and clicks their own; the first install its decision's
--   (the click's also when rejected, 'organic' / '' when organic); every other event of the
--   device at or after its first install the first install's when attributed, 'organic' / ''
--   when organic, '' / '' when rejected; '' / '' before or without a first install.
--   name, currency, error_type only for their own event type; fraud_reason on rejected first
--   installs; install_kind the first install's outcome or 'reinstall'.
INSERT INTO hourly_batch_staging
SELECT app_id, hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id,
       fraud_reason, install_kind,
       count() AS events,
       sum(revenue) AS revenue_micros,
       uniqExactState(device_id) AS uv
FROM (
  SELECT
    e.app_id AS app_id,
    toStartOfHour(toDateTime(intDiv(e.ts, 1000), 'UTC')) AS hour,
    e.type AS type,
    e.device_id AS device_id,
    if(e.type = 'event', e.name, '') AS name,
    e.country AS country,
    e.os AS os,
    e.app_version AS app_version,
    if(e.type = 'purchase', e.currency, '') AS currency,
    if(e.type = 'error', e.error_type, '') AS error_type,
    if(e.type = 'purchase', e.revenue_micros, 0) AS revenue,
    e.type = 'install' AND a.install_event_id = e.event_id AS is_first_install,
    a.install_event_id != '' AND e.ts >= a.ts AND a.outcome != 'rejected' AS inherits_install,
    multiIf(e.type IN ('impression', 'click'), e.channel,
            is_first_install OR inherits_install, a.channel,
            '') AS channel,
    multiIf(e.type IN ('impression', 'click'), e.campaign_id,
            is_first_install OR inherits_install, a.campaign_id,
            '') AS campaign_id,
    if(is_first_install, a.fraud_reason, '') AS fraud_reason,
    multiIf(e.type != 'install', '', is_first_install, a.outcome, 'reinstall') AS install_kind
  FROM (
    SELECT app_id, event_id, type, ts, device_id, name, country, os, app_version, currency, error_type,
           channel, campaign_id, revenue_micros
    FROM {{WINDOW}}
    WHERE (kafka_partition, kafka_offset) NOT IN (SELECT kafka_partition, kafka_offset FROM batch_scratch_losers)
  ) AS e
  LEFT JOIN batch_scratch_attribution AS a ON a.app_id = e.app_id AND a.device_id = e.device_id
)
GROUP BY app_id, hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id,
         fraud_reason, install_kind
{{SETTINGS}}
