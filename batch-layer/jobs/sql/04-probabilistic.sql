-- Rule 3 of DESIGN.md section 4 for the first installs without a device match that have a
-- non-empty ip and ua: the click with the greatest (ts, event_id) such that app, ip and ua are
-- the install's, ts <= t and t - ts <= 24 h. An ASOF join finds the greatest click ts <= t
-- per install (hash table over the candidate clicks, binary search by ts); clicks sharing that
-- ts are then joined back and the greatest event_id wins, so ties are exact. (Grouping every
-- click by (app, ip, ua, ts) first costs far more than this.)
INSERT INTO batch_scratch_probabilistic_{{RUN}} (app_id, device_id, click)
WITH
  clicks AS (
    SELECT app_id, ip, CAST(ua AS String) AS ua, ts, event_id,
           CAST(channel AS String) AS channel, CAST(campaign_id AS String) AS campaign_id
    FROM {{CLICK_RANGE_COUNTED}}
    WHERE type = 'click' AND ts >= {click_from_ms:Int64} AND ts < {window_end_ms:Int64} AND ip != '' AND ua != ''
      AND (app_id, ip, ua) IN (SELECT app_id, ip, ua FROM batch_scratch_installs_{{RUN}} WHERE device_click.2 = '' AND ip != '' AND ua != '')
  ),
  last_click_ts AS (
    SELECT i.app_id AS app_id, i.device_id AS device_id, i.ip AS ip, i.ua AS ua, c.ts AS click_ts
    FROM (SELECT app_id, device_id, ip, ua, ts FROM batch_scratch_installs_{{RUN}} WHERE device_click.2 = '' AND ip != '' AND ua != '') AS i
    ASOF INNER JOIN (SELECT app_id, ip, ua, ts FROM clicks) AS c
      ON c.app_id = i.app_id AND c.ip = i.ip AND c.ua = i.ua AND i.ts >= c.ts
    WHERE i.ts - c.ts <= weir_probabilistic_window_ms()
  )
SELECT l.app_id, l.device_id, argMax(tuple(c.ts, c.event_id, c.channel, c.campaign_id, c.ip), c.event_id)
FROM clicks AS c
INNER JOIN last_click_ts AS l ON c.app_id = l.app_id AND c.ip = l.ip AND c.ua = l.ua AND c.ts = l.click_ts
GROUP BY l.app_id, l.device_id
{{SETTINGS}}
