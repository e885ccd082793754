-- One decision per first install (DESIGN.md section 4), in rule order:
--   1. the first install of (app, device) is the smallest (ts, event_id); String compares
--      bytes, which is the byte order the rules ask for;
--   2. device match: the device's last click with ts <= t and t - ts <= the app's lookback,
--      ties on ts to the greater event_id;
--   3. probabilistic match (only without a device match): same app, same non-empty ip and
--      ua, within 24 h, same tie rule;
--   4. organic otherwise;
--   5. fraud, first rule that holds: click_injection (CTIT < 10 s), click_flooding (> 20
--      device clicks in [t - 24 h, t]), blocked_ip (the click's or the install's ip in the
--      global list or the app's own).
-- Per-app settings arrive as parallel arrays ({app_ids}, {app_lookback_days},
-- {app_blocklists}); an app not in them uses {default_lookback_days} and no own list.
INSERT INTO batch_scratch_attribution
WITH
  first_installs AS (
    SELECT app_id, device_id,
           argMin(tuple(event_id, ts, ip, ip_norm, ua), tuple(ts, event_id)) AS first
    FROM batch_scratch_touches
    WHERE type = 'install'
    GROUP BY app_id, device_id
  ),
  installs AS (
    SELECT app_id, device_id,
           first.1 AS event_id, first.2 AS ts, first.3 AS ip, first.4 AS ip_norm, first.5 AS ua,
           indexOf({app_ids:Array(String)}, app_id) AS app_index,
           toInt64(if(app_index = 0, {default_lookback_days:UInt16}, {app_lookback_days:Array(UInt16)}[app_index])) * 86400000 AS lookback_ms,
           arrayConcat({global_blocklist:Array(String)},
                        if(app_index = 0, CAST([], 'Array(String)'), {app_blocklists:Array(Array(String))}[app_index])) AS blocklist
    FROM first_installs
  ),
  clicks AS (
    SELECT app_id, device_id, event_id, ts, ip, ip_norm, ua, channel, campaign_id
    FROM batch_scratch_touches
    WHERE type = 'click'
  ),
  device_match AS (
    SELECT i.app_id AS app_id, i.device_id AS device_id,
           argMax(tuple(c.event_id, c.ts, c.ip_norm, c.channel, c.campaign_id), tuple(c.ts, c.event_id)) AS click,
           -- The lookback is at least one day, so every click of the flooding window is here.
           countIf(c.ts >= i.ts - 86400000) AS clicks_24h
    FROM installs AS i
    INNER JOIN clicks AS c ON c.app_id = i.app_id AND c.device_id = i.device_id
    WHERE c.ts <= i.ts AND i.ts - c.ts <= i.lookback_ms
    GROUP BY i.app_id, i.device_id
  ),
  probabilistic_match AS (
    SELECT i.app_id AS app_id, i.device_id AS device_id,
           argMax(tuple(c.event_id, c.ts, c.ip_norm, c.channel, c.campaign_id), tuple(c.ts, c.event_id)) AS click
    FROM installs AS i
    INNER JOIN clicks AS c ON c.app_id = i.app_id AND c.ip = i.ip AND c.ua = i.ua
    WHERE i.ip != '' AND i.ua != '' AND c.ts <= i.ts AND i.ts - c.ts <= 86400000
    GROUP BY i.app_id, i.device_id
  ),
  matched AS (
    SELECT i.app_id AS app_id, i.device_id AS device_id, i.event_id AS install_event_id, i.ts AS ts,
           i.ip_norm AS install_ip, i.blocklist AS blocklist,
           multiIf(d.click.1 != '', 'device', p.click.1 != '', 'probabilistic', '') AS match,
           if(match = 'device', d.click, p.click) AS click,
           d.clicks_24h AS clicks_24h
    FROM installs AS i
    LEFT JOIN device_match AS d ON d.app_id = i.app_id AND d.device_id = i.device_id
    LEFT JOIN probabilistic_match AS p ON p.app_id = i.app_id AND p.device_id = i.device_id
    SETTINGS join_use_nulls = 0
  ),
  judged AS (
    SELECT *,
           ts - click.2 AS ctit,
           multiIf(
             match = '', '',
             ctit < 10000, 'click_injection',
             clicks_24h > 20, 'click_flooding',
             arrayExists(cidr -> isIPAddressInRange(click.3, cidr), if(click.3 = '', CAST([], 'Array(String)'), blocklist))
               OR arrayExists(cidr -> isIPAddressInRange(install_ip, cidr), if(install_ip = '', CAST([], 'Array(String)'), blocklist)),
             'blocked_ip',
             '') AS fraud_reason
    FROM matched
  )
SELECT app_id, device_id, install_event_id, ts,
       multiIf(match = '', 'organic', fraud_reason != '', 'rejected', 'attributed') AS outcome,
       match,
       click.1 AS click_event_id,
       -- A rejected install keeps its click's channel and campaign (fraud reports by channel).
       if(match = '', 'organic', click.4) AS channel,
       if(match = '', '', click.5) AS campaign_id,
       if(match = '', NULL, toNullable(ctit)) AS ctit_ms,
       fraud_reason
FROM judged
{{SETTINGS}}
