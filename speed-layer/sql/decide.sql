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
--
-- Every subquery is referenced once: ClickHouse analyses a WITH clause again at each
-- reference, and an earlier form of this statement, with its sets as CTEs, spent 250 ms of a
-- small group's 300 ms analysing itself (WEIR_SPEED_PROFILE=1, EXPLAIN).
INSERT INTO speed_decisions (flush_group, kafka_partition, kafka_offset, app_id, device_id, install_event_id, ts,
                             outcome, match, click_event_id, channel, campaign_id, ctit_ms, fraud_reason, decided_at)
SELECT {group:String}, i.5, i.6, app_id, device_id, i.1, fromUnixTimestamp64Milli(i.2, 'UTC'),
       weir_outcome(match, fraud), match,
       if(match = '', '', click.2),
       -- A rejected install keeps its click's channel and campaign (fraud reports by channel).
       if(match = '', 'organic', click.3),
       if(match = '', '', click.4),
       if(match = '', NULL, toNullable(ctit)),
       fraud,
       fromUnixTimestamp64Milli({decided_at:Int64}, 'UTC')
FROM (
  -- The winning click, and its fraud check: over plain columns (an alias is substituted where
  -- it is used, and the click's choice is a large expression).
  SELECT app_id, device_id, i, match, click, i.2 - click.1 AS ctit,
         if(match = '', '',
            weir_fraud_reason(ctit, flooding, click.5, i.3,
                              weir_blocklist(app_id, {app_ids:Array(String)}, {app_blocklists:Array(Array(String))}, {global_blocklist:Array(String)}))) AS fraud
  FROM (
    SELECT app_id, device_id, i, flooding,
           multiIf(device_click.2 != '', 'device', ip_click.2 != '', 'probabilistic', '') AS match,
           if(device_click.2 != '', device_click, ip_click) AS click
    FROM (
  SELECT m.app_id AS app_id, m.device_id AS device_id, m.i AS i, m.device_click AS device_click, m.flooding AS flooding,
         if(m.device_click.2 != '' OR m.i.3 = '' OR m.i.4 = '', tuple(toInt64(0), '', '', '', ''),
            weir_last_click(arrayMap(c -> tuple(c.1, c.2, c.3, c.4, c.5),
                                     arrayFilter(c -> c.6 < 0 OR c.7 != m.i.5 OR c.6 < m.i.6, p.clicks)),
                            m.i.2, weir_probabilistic_window_ms())) AS ip_click
  FROM (
    -- Per device with an install in the group and no first install yet: the first install to
    -- arrive, (event_id, ts ms, ip, ua, partition, offset), and its device match over the
    -- clicks that arrived before it.
    SELECT app_id, device_id, i,
           arrayMap(c -> tuple(c.1, c.2, c.3, c.4, c.5), arrayFilter(c -> c.6 < i.6, clicks)) AS arrived,
           weir_last_click(arrived, i.2, weir_lookback_ms(app_id, {app_ids:Array(String)}, {app_lookback_days:Array(UInt16)}, {default_lookback_days:UInt16})) AS device_click,
           weir_flooding_clicks(arrived, i.2) AS flooding
    FROM (
      SELECT app_id, device_id,
             argMinIf(tuple(event_id, ts_ms, ip, ua, partition, arrival), arrival, kind = 'install') AS i,
             groupArrayIf(tuple(ts_ms, event_id, channel, campaign_id, ip, arrival), kind = 'click') AS clicks
      FROM (
        SELECT CAST(app_id AS String) AS app_id, device_id, 'install' AS kind, toUnixTimestamp64Milli(ts) AS ts_ms, event_id, ip, CAST(ua AS String) AS ua,
               '' AS channel, '' AS campaign_id, kafka_partition AS partition, toInt64(kafka_offset) AS arrival
        FROM speed_staged WHERE flush_group = {group:String} AND type = 'install'
        UNION ALL
        SELECT CAST(app_id AS String), device_id, 'click', toUnixTimestamp64Milli(ts), event_id, ip, '',
               CAST(channel AS String), CAST(campaign_id AS String), kafka_partition, toInt64(kafka_offset)
        FROM speed_staged WHERE flush_group = {group:String} AND type = 'click'
          AND (CAST(app_id AS String), device_id) IN (SELECT CAST(app_id AS String), device_id FROM speed_staged WHERE flush_group = {group:String} AND type = 'install')
        UNION ALL
        SELECT app_id, device_id, 'click', toUnixTimestamp64Milli(ts), event_id, ip, '', channel, campaign_id, toUInt16(0), toInt64(-1)
        FROM speed_device_clicks
        WHERE (app_id, device_id) IN (SELECT CAST(app_id AS String), device_id FROM speed_staged WHERE flush_group = {group:String} AND type = 'install')
        UNION ALL
        SELECT app_id, device_id, 'first', 0, '', '', '', '', '', toUInt16(0), toInt64(-1)
        FROM speed_first_installs
        WHERE (app_id, device_id) IN (SELECT CAST(app_id AS String), device_id FROM speed_staged WHERE flush_group = {group:String} AND type = 'install')
      )
      GROUP BY app_id, device_id
      HAVING countIf(kind = 'install') > 0 AND countIf(kind = 'first') = 0
    )
  ) AS m
  LEFT ANY JOIN (
    -- Clicks by (app, ip, ua) of the group's installs (all of them: a superset of those
    -- without a device match) within 24 h before the earliest: (ts, event_id, channel,
    -- campaign_id, ip, arrival offset or -1 for the written ones, partition).
    SELECT app_id, ip, ua, groupArray(tuple(ts_ms, event_id, channel, campaign_id, ip, arrival, partition)) AS clicks
    FROM (
      SELECT CAST(app_id AS String) AS app_id, ip, ua, toUnixTimestamp64Milli(ts) AS ts_ms, event_id,
             CAST(channel AS String) AS channel, CAST(campaign_id AS String) AS campaign_id, toInt64(-1) AS arrival, toUInt16(0) AS partition
      FROM clicks_by_ip_ua_rt
      WHERE (app_id, ip, ua) IN (SELECT app_id, ip, ua FROM speed_staged WHERE flush_group = {group:String} AND type = 'install' AND ip != '' AND ua != '')
        AND ts >= (SELECT min(ts) FROM speed_staged WHERE flush_group = {group:String} AND type = 'install') - INTERVAL 1 DAY
      UNION ALL
      SELECT CAST(app_id AS String), ip, CAST(ua AS String), toUnixTimestamp64Milli(ts), event_id,
             CAST(channel AS String), CAST(campaign_id AS String), toInt64(kafka_offset), kafka_partition
      FROM speed_staged
      WHERE flush_group = {group:String} AND type = 'click' AND ip != '' AND ua != ''
        AND (app_id, ip, ua) IN (SELECT app_id, ip, ua FROM speed_staged WHERE flush_group = {group:String} AND type = 'install' AND ip != '' AND ua != '')
    )
    GROUP BY app_id, ip, ua
  ) AS p ON p.app_id = m.app_id AND p.ip = m.i.3 AND p.ua = m.i.4
  SETTINGS join_use_nulls = 0
    )
  )
)
WHERE {{FENCE}}
