-- The hourly batch view of the window's days from the winning copy of every event, with the
-- derived dimensions of DESIGN.md section 5 (rules/attribution-rules.sql):
--   channel, campaign_id: impressions and clicks their own; the first install its decision's
--   (the click's also when rejected, 'organic' / '' when organic); every other event of the
--   device at or after its first install the first install's when attributed, 'organic' / ''
--   when organic, '' / '' when rejected; '' / '' before or without a first install.
--   name, currency, error_type only for their own event type; fraud_reason on rejected first
--   installs; install_kind the first install's outcome or 'reinstall'.
-- Grouping by 13 string columns, or taking 13 any() per group, costs more than the rest of
-- the step: rows are grouped by the hour and one string that joins the 13 values hex-encoded
-- (injective: ':' never occurs in hex), decoded once per group. (app_id, device_id) is unique
-- in the first installs (a device's is either before the window or in it), so an ANY join
-- returns what an ALL join would.
INSERT INTO hourly_batch_staging_{{RUN}}
WITH firsts AS (
  SELECT app_id, device_id, install_event_id, ts, outcome, channel, campaign_id, fraud_reason FROM batch_scratch_attribution_{{RUN}}
  UNION ALL
  SELECT app_id, device_id, install_event_id, ts, outcome, channel, campaign_id, fraud_reason FROM batch_scratch_prior_{{RUN}}
)
SELECT unhex(dims[1]), hour, unhex(dims[2]), unhex(dims[3]), unhex(dims[4]), unhex(dims[5]), unhex(dims[6]), unhex(dims[7]),
       unhex(dims[8]), unhex(dims[9]), unhex(dims[10]), unhex(dims[11]), unhex(dims[12]), events, revenue_micros, uv,
       {run_id:String}
FROM (
SELECT hour, splitByChar(':', dims_key) AS dims,
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
    weir_inherits(a.install_event_id != '', e.ts, a.ts, a.outcome) AS inherits_install,
    weir_derived_channel(e.type, e.channel, is_first_install, inherits_install, a.channel) AS channel,
    weir_derived_channel(e.type, e.campaign_id, is_first_install, inherits_install, a.campaign_id) AS campaign_id,
    if(is_first_install, a.fraud_reason, '') AS fraud_reason,
    weir_install_kind(e.type, is_first_install, a.outcome) AS install_kind,
    concat(hex(app_id), ':', hex(type), ':', hex(name), ':', hex(country), ':', hex(os), ':', hex(app_version), ':',
           hex(currency), ':', hex(error_type), ':', hex(channel), ':', hex(campaign_id), ':', hex(fraud_reason), ':',
           hex(install_kind)) AS dims_key
  FROM (
    SELECT app_id, event_id, type, ts, device_id, name, country, os, app_version, currency, error_type,
           channel, campaign_id, revenue_micros
    FROM {{WINDOW_COUNTED}}
    WHERE ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64}
  ) AS e
  LEFT ANY JOIN firsts AS a ON a.app_id = e.app_id AND a.device_id = e.device_id
)
GROUP BY hour, dims_key
)
{{SETTINGS}}
