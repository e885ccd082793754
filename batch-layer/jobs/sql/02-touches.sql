-- The winning clicks and installs that can decide an attribution in the window: every
-- install (first installs are over all history) and click before the window's end. Later
-- ones cannot: a first install after the window end belongs to no event of the window
-- (events before it get '' / ''), and only clicks at or before an install count.
INSERT INTO batch_scratch_touches (app_id, device_id, event_id, type, ts, ip, ip_norm, ua, channel, campaign_id)
-- The address the blocklist check reads (as test/reference/ip-ranges.ts and
-- batch-layer/ip-blocklist.ts): trimmed, without [brackets] or a %zone; an IPv4-mapped IPv6
-- address is its IPv4 address; '' when it is no address (never blocked).
WITH replaceRegexpOne(replaceRegexpOne(trimBoth(ip), '^\\[(.*)\\]$', '\\1'), '%.*$', '') AS ip_bare
SELECT app_id, device_id, event_id, type, ts, ip,
       multiIf(isIPv4String(ip_bare), ip_bare,
               isIPv6String(ip_bare), replaceRegexpOne(IPv6NumToString(toIPv6(ip_bare)), '^::ffff:([0-9.]+)$', '\\1'),
               '') AS ip_norm,
       ua, channel, campaign_id
FROM {{ALL}}
WHERE type IN ('click', 'install')
  AND ts < {window_end_ms:Int64}
  AND (kafka_partition, kafka_offset) NOT IN (SELECT kafka_partition, kafka_offset FROM batch_scratch_losers)
{{SETTINGS}}
