-- The rules of DESIGN.md sections 4 and 5 as SQL functions, the one definition both layers
-- run: the batch layer over its window (batch-layer/jobs/sql/), the speed layer over each flush
-- group and its state tables (speed-layer/sql/). Installed (replaced) at every start by
-- migrate() (rules/install-rules.ts). test/reference is the independent plain-code check.
--
-- Clicks are tuples (ts ms, event_id, channel, campaign_id, ip, …): tuples compare element by
-- element and String compares bytes, so the greatest is the greatest (ts, event_id) in the byte
-- order the rules ask for ((ts, event_id) is unique: event ids are per app). arrayMax of none
-- is the empty tuple: event_id '' says "no click".

-- Rule 2 (window: the app's lookback) and rule 3 (window: 24 h): the greatest click with
-- ts <= t and t - ts <= window.
CREATE OR REPLACE FUNCTION weir_last_click AS (clicks, t, window_ms) ->
  arrayMax(arrayFilter(c -> c.1 <= t AND t - c.1 <= window_ms, clicks));

-- Rule 3's window.
CREATE OR REPLACE FUNCTION weir_probabilistic_window_ms AS () -> toInt64(86400000);

-- Rule 5, click_flooding: the device's clicks with t - 24 h <= ts <= t.
CREATE OR REPLACE FUNCTION weir_flooding_clicks AS (clicks, t) ->
  arrayCount(c -> c.1 <= t AND c.1 >= t - 86400000, clicks);

-- An app's lookback in ms: its own (parallel arrays app_ids, app_lookback_days), else the
-- default (LOOKBACK_DAYS).
CREATE OR REPLACE FUNCTION weir_lookback_ms AS (app_id, app_ids, app_lookback_days, default_days) ->
  toInt64(if(indexOf(app_ids, app_id) = 0, default_days, app_lookback_days[indexOf(app_ids, app_id)])) * 86400000;

-- The CIDR ranges an app's installs are checked against: the global IP_BLOCKLIST and the
-- app's own (parallel arrays app_ids, app_blocklists), normalised as rules/cidrs.ts does.
CREATE OR REPLACE FUNCTION weir_blocklist AS (app_id, app_ids, app_blocklists, global_blocklist) ->
  arrayConcat(global_blocklist, if(indexOf(app_ids, app_id) = 0, CAST([], 'Array(String)'), app_blocklists[indexOf(app_ids, app_id)]));

-- The address a blocklist check reads (as test/reference/ip-ranges.ts): trimmed, without
-- [brackets] or a %zone; an IPv4-mapped IPv6 address is its IPv4 address; '' when it is no
-- address (never blocked).
CREATE OR REPLACE FUNCTION weir_ip_bare AS (ip) ->
  replaceRegexpOne(replaceRegexpOne(trimBoth(ip), '^\\[(.*)\\]$', '\\1'), '%.*$', '');
CREATE OR REPLACE FUNCTION weir_ip_for_blocklist AS (ip) ->
  multiIf(isIPv4String(weir_ip_bare(ip)), weir_ip_bare(ip),
          isIPv6String(weir_ip_bare(ip)), replaceRegexpOne(IPv6NumToString(toIPv6(weir_ip_bare(ip))), '^::ffff:([0-9.]+)$', '\\1'),
          '');
CREATE OR REPLACE FUNCTION weir_ip_blocked AS (ip, blocklist) ->
  arrayExists(cidr -> isIPAddressInRange(weir_ip_for_blocklist(ip), cidr),
              if(weir_ip_for_blocklist(ip) = '', CAST([], 'Array(String)'), blocklist));

-- Rule 5 for an install with a winning click, in order: click_injection (CTIT < 10 s),
-- click_flooding (more than 20 device clicks in [t - 24 h, t]), blocked_ip (the click's or the
-- install's ip in the blocklist); '' when none holds.
CREATE OR REPLACE FUNCTION weir_fraud_reason AS (ctit_ms, flooding_clicks, click_ip, install_ip, blocklist) ->
  multiIf(ctit_ms < 10000, 'click_injection',
          flooding_clicks > 20, 'click_flooding',
          weir_ip_blocked(click_ip, blocklist) OR weir_ip_blocked(install_ip, blocklist), 'blocked_ip',
          '');

-- Rules 4 and 5: the outcome of a first install from its match ('' none) and fraud reason.
CREATE OR REPLACE FUNCTION weir_outcome AS (match, fraud_reason) ->
  multiIf(match = '', 'organic', fraud_reason != '', 'rejected', 'attributed');

-- Section 5, derived dimensions. An event inherits its device's first install when that is
-- known, the event is at or after it, and it was not rejected (attributed: its channel and
-- campaign; organic: 'organic' and '', which is the decision's channel and campaign).
CREATE OR REPLACE FUNCTION weir_inherits AS (first_known, ts, first_ts, first_outcome) ->
  first_known AND ts >= first_ts AND first_outcome != 'rejected';
-- channel or campaign_id: impressions and clicks their own; the first install its decision's
-- (also when rejected); an inheriting event its first install's; '' otherwise.
CREATE OR REPLACE FUNCTION weir_derived_channel AS (type, own, is_first_install, inherits, first_value) ->
  multiIf(type IN ('impression', 'click'), own, is_first_install OR inherits, first_value, '');
CREATE OR REPLACE FUNCTION weir_install_kind AS (type, is_first_install, first_outcome) ->
  multiIf(type != 'install', '', is_first_install, first_outcome, 'reinstall');
