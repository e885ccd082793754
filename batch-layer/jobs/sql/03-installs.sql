-- Rules 1 and 2 of DESIGN.md section 4 and the flooding count (rules/attribution-rules.sql), in one pass per device over the
-- winning installs of the window and the winning clicks that can decide them (from the
-- longest lookback before the window to its end), for the devices without a first install
-- before the window (02-prior-installs.sql):
--   1. the first install of (app, device) is the smallest (ts, event_id); String compares
--      bytes, which is the byte order the rules ask for;
--   2. device match: the device's click with the greatest (ts, event_id) such that ts <= t
--      and t - ts <= the app's lookback ((ts, event_id) is unique: event ids are per app);
--   flooding: the device's clicks with t - 24 h <= ts <= t.
-- Per-app lookbacks arrive as parallel arrays ({app_ids}, {app_lookback_days}); an app not
-- in them uses {default_lookback_days}.
INSERT INTO batch_scratch_installs_{{RUN}} (app_id, device_id, event_id, ts, ip, ua, device_click, clicks_24h)
SELECT app_id, device_id, first.1, first.2, first.3, first.4,
       weir_last_click(clicks, first.2, lookback_ms),
       weir_flooding_clicks(clicks, first.2)
FROM (
  SELECT app_id, device_id,
         argMinIf(tuple(event_id, ts, ip, CAST(ua AS String)), tuple(ts, event_id), type = 'install') AS first,
         groupArrayIf(tuple(ts, event_id, CAST(channel AS String), CAST(campaign_id AS String), ip), type = 'click') AS clicks,
         weir_lookback_ms(app_id, {app_ids:Array(String)}, {app_lookback_days:Array(UInt16)}, {default_lookback_days:UInt16}) AS lookback_ms
  FROM {{CLICK_RANGE_COUNTED}}
  WHERE (type = 'click' AND ts >= {click_from_ms:Int64} AND ts < {window_end_ms:Int64})
     OR (type = 'install' AND ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64})
  GROUP BY app_id, device_id
  HAVING countIf(type = 'install') > 0
)
WHERE (CAST(app_id AS String), device_id) NOT IN (SELECT app_id, device_id FROM batch_scratch_prior_{{RUN}})
{{SETTINGS}}
