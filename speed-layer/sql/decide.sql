-- The first installs of one flush group ({group}), decided by the rules (rules/
-- attribution-rules.sql) over the group's staged rows and the speed layer's state: the first
-- installs decided before (speed_first_installs), every device click (speed_device_clicks) and
-- every click by (app, ip, ua) the speed views hold (clicks_by_ip_ua_rt, all partitions).
--
-- As the stream sees them, in arrival order (DESIGN.md section 4 allows the speed layer to
-- differ from batch where a click arrives after its install, or an earlier install after a
-- later one): a device's events are in one Kafka partition, so its offsets order them.
--   1. the first install of a device without one is the first of its installs to arrive;
--   2, 5. its clicks are the ones that arrived before it (the state's, and the group's at a
--      smaller offset): the device match and the flooding count read those;
--   3. the probabilistic match reads the clicks of other partitions the group holds too
--      (they arrived in the same fetch), and its own partition's that arrived before it.
-- Clicks are (ts, event_id, channel, campaign_id, ip, arrival offset or -1 for the state's,
-- partition); the rules read the first five.
INSERT INTO speed_decisions (flush_group, kafka_partition, kafka_offset, app_id, device_id, install_event_id, ts,
                             outcome, match, click_event_id, channel, campaign_id, ctit_ms, fraud_reason, decided_at)
WITH
  firsts AS (
    SELECT CAST(app_id AS String) AS app_id, device_id,
           -- (event_id, ts ms, ip, ua, partition, offset) of the first to arrive
           argMin(tuple(event_id, toUnixTimestamp64Milli(ts), ip, CAST(ua AS String), kafka_partition, toInt64(kafka_offset)), kafka_offset) AS i
    FROM speed_staged
    WHERE flush_group = {group:String} AND type = 'install'
      AND (CAST(app_id AS String), device_id) NOT IN (
        SELECT app_id, device_id FROM speed_first_installs
        WHERE (app_id, device_id) IN (SELECT CAST(app_id AS String), device_id FROM speed_staged WHERE flush_group = {group:String} AND type = 'install'))
    GROUP BY app_id, device_id
  ),
  device_clicks AS (
    SELECT app_id, device_id, groupArray(tuple(ts_ms, event_id, channel, campaign_id, ip, arrival)) AS clicks
    FROM (
      SELECT app_id, device_id, toUnixTimestamp64Milli(ts) AS ts_ms, event_id, channel, campaign_id, ip, toInt64(-1) AS arrival
      FROM speed_device_clicks
      WHERE (app_id, device_id) IN (SELECT app_id, device_id FROM firsts)
      UNION ALL
      SELECT CAST(app_id AS String), device_id, toUnixTimestamp64Milli(ts), event_id, CAST(channel AS String), CAST(campaign_id AS String), ip, toInt64(kafka_offset)
      FROM speed_staged
      WHERE flush_group = {group:String} AND type = 'click' AND (CAST(app_id AS String), device_id) IN (SELECT app_id, device_id FROM firsts)
    )
    GROUP BY app_id, device_id
  ),
  matched AS (
    SELECT f.app_id AS app_id, f.device_id AS device_id, f.i AS i, f.i.3 AS install_ip, f.i.4 AS install_ua,
           arrayMap(c -> tuple(c.1, c.2, c.3, c.4, c.5), arrayFilter(c -> c.6 < f.i.6, d.clicks)) AS arrived,
           weir_last_click(arrived, f.i.2, weir_lookback_ms(f.app_id, {app_ids:Array(String)}, {app_lookback_days:Array(UInt16)}, {default_lookback_days:UInt16})) AS device_click,
           weir_flooding_clicks(arrived, f.i.2) AS flooding
    FROM firsts AS f
    LEFT ANY JOIN device_clicks AS d ON d.app_id = f.app_id AND d.device_id = f.device_id
    SETTINGS join_use_nulls = 0
  ),
  probes AS (
    SELECT app_id, install_ip AS ip, install_ua AS ua, i.2 AS t FROM matched WHERE device_click.2 = '' AND install_ip != '' AND install_ua != ''
  ),
  ip_clicks AS (
    SELECT app_id, ip, ua, groupArray(tuple(ts_ms, event_id, channel, campaign_id, ip, arrival, partition)) AS clicks
    FROM (
      SELECT CAST(app_id AS String) AS app_id, ip, ua, toUnixTimestamp64Milli(ts) AS ts_ms, event_id,
             CAST(channel AS String) AS channel, CAST(campaign_id AS String) AS campaign_id, toInt64(-1) AS arrival, toUInt16(0) AS partition
      FROM clicks_by_ip_ua_rt
      WHERE (app_id, ip, ua) IN (SELECT app_id, ip, ua FROM probes)
        AND ts >= fromUnixTimestamp64Milli((SELECT min(t) FROM probes) - weir_probabilistic_window_ms(), 'UTC')
      UNION ALL
      SELECT CAST(app_id AS String), ip, CAST(ua AS String), toUnixTimestamp64Milli(ts), event_id,
             CAST(channel AS String), CAST(campaign_id AS String), toInt64(kafka_offset), kafka_partition
      FROM speed_staged
      WHERE flush_group = {group:String} AND type = 'click' AND ip != '' AND ua != ''
        AND (CAST(app_id AS String), ip, CAST(ua AS String)) IN (SELECT app_id, ip, ua FROM probes)
    )
    GROUP BY app_id, ip, ua
  ),
  judged AS (
    SELECT m.app_id AS app_id, m.device_id AS device_id, m.i AS i, m.install_ip AS install_ip,
           if(m.device_click.2 != '' OR m.install_ip = '' OR m.install_ua = '', tuple(toInt64(0), '', '', '', ''),
              weir_last_click(arrayMap(c -> tuple(c.1, c.2, c.3, c.4, c.5),
                                       arrayFilter(c -> c.6 < 0 OR c.7 != m.i.5 OR c.6 < m.i.6, p.clicks)),
                              m.i.2, weir_probabilistic_window_ms())) AS ip_click,
           multiIf(m.device_click.2 != '', 'device', ip_click.2 != '', 'probabilistic', '') AS match,
           if(match = 'device', m.device_click, ip_click) AS click,
           m.i.2 - click.1 AS ctit,
           if(match = '', '',
              weir_fraud_reason(ctit, m.flooding, click.5, m.install_ip,
                                weir_blocklist(m.app_id, {app_ids:Array(String)}, {app_blocklists:Array(Array(String))}, {global_blocklist:Array(String)}))) AS fraud
    FROM matched AS m
    LEFT ANY JOIN ip_clicks AS p ON p.app_id = m.app_id AND p.ip = m.install_ip AND p.ua = m.install_ua
    SETTINGS join_use_nulls = 0
  )
SELECT {group:String}, i.5, i.6, app_id, device_id, i.1, fromUnixTimestamp64Milli(i.2, 'UTC'),
       weir_outcome(match, fraud), match,
       if(match = '', '', click.2),
       -- A rejected install keeps its click's channel and campaign (fraud reports by channel).
       if(match = '', 'organic', click.3),
       if(match = '', '', click.4),
       if(match = '', NULL, toNullable(ctit)),
       fraud,
       fromUnixTimestamp64Milli({decided_at:Int64}, 'UTC')
FROM judged
WHERE {{FENCE}}
