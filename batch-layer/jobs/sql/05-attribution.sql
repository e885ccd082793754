-- One decision per first install (DESIGN.md section 4), in rule order, from
-- batch_scratch_installs (rules 1 and 2 and the flooding count, 03-installs.sql) and
-- batch_scratch_probabilistic (rule 3, 04-probabilistic.sql):
--   4. organic when neither matches;
--   5. fraud, first rule that holds: click_injection (CTIT < 10 s), click_flooding (> 20
--      device clicks in [t - 24 h, t]), blocked_ip (the click's or the install's ip in the
--      global list or the app's own).
-- Per-app blocklists arrive as parallel arrays ({app_ids}, {app_blocklists}); an app not in
-- them has no own list. The address the blocklist check reads (as
-- test/reference/ip-ranges.ts and batch-layer/ip-blocklist.ts): trimmed, without [brackets]
-- or a %zone; an IPv4-mapped IPv6 address is its IPv4 address; '' when it is no address
-- (never blocked). (app_id, device_id) is unique in batch_scratch_probabilistic, so an ANY
-- join returns what an ALL join would.
INSERT INTO batch_scratch_attribution_{{RUN}}
WITH
  matched AS (
    SELECT i.app_id AS app_id, i.device_id AS device_id, i.event_id AS install_event_id, i.ts AS ts,
           i.ip AS install_ip, i.clicks_24h AS clicks_24h,
           multiIf(i.device_click.2 != '', 'device', p.click.2 != '', 'probabilistic', '') AS match,
           -- (ts, event_id, channel, campaign_id, ip) of the winning click
           if(match = 'device', i.device_click, p.click) AS click
    FROM batch_scratch_installs_{{RUN}} AS i
    LEFT ANY JOIN batch_scratch_probabilistic_{{RUN}} AS p ON p.app_id = CAST(i.app_id AS String) AND p.device_id = i.device_id
    SETTINGS join_use_nulls = 0
  ),
  judged AS (
    SELECT *,
           ts - click.1 AS ctit,
           indexOf({app_ids:Array(String)}, app_id) AS app_index,
           arrayConcat({global_blocklist:Array(String)},
                        if(app_index = 0, CAST([], 'Array(String)'), {app_blocklists:Array(Array(String))}[app_index])) AS blocklist,
           replaceRegexpOne(replaceRegexpOne(trimBoth(click.5), '^\\[(.*)\\]$', '\\1'), '%.*$', '') AS click_ip_bare,
           multiIf(isIPv4String(click_ip_bare), click_ip_bare,
                   isIPv6String(click_ip_bare), replaceRegexpOne(IPv6NumToString(toIPv6(click_ip_bare)), '^::ffff:([0-9.]+)$', '\\1'),
                   '') AS click_ip_norm,
           replaceRegexpOne(replaceRegexpOne(trimBoth(install_ip), '^\\[(.*)\\]$', '\\1'), '%.*$', '') AS install_ip_bare,
           multiIf(isIPv4String(install_ip_bare), install_ip_bare,
                   isIPv6String(install_ip_bare), replaceRegexpOne(IPv6NumToString(toIPv6(install_ip_bare)), '^::ffff:([0-9.]+)$', '\\1'),
                   '') AS install_ip_norm,
           multiIf(
             match = '', '',
             ctit < 10000, 'click_injection',
             clicks_24h > 20, 'click_flooding',
             arrayExists(cidr -> isIPAddressInRange(click_ip_norm, cidr), if(click_ip_norm = '', CAST([], 'Array(String)'), blocklist))
               OR arrayExists(cidr -> isIPAddressInRange(install_ip_norm, cidr), if(install_ip_norm = '', CAST([], 'Array(String)'), blocklist)),
             'blocked_ip',
             '') AS fraud_reason
    FROM matched
  )
SELECT app_id, device_id, install_event_id, ts,
       multiIf(match = '', 'organic', fraud_reason != '', 'rejected', 'attributed') AS outcome,
       match,
       if(match = '', '', click.2) AS click_event_id,
       -- A rejected install keeps its click's channel and campaign (fraud reports by channel).
       if(match = '', 'organic', click.3) AS channel,
       if(match = '', '', click.4) AS campaign_id,
       if(match = '', NULL, toNullable(ctit)) AS ctit_ms,
       fraud_reason
FROM judged
