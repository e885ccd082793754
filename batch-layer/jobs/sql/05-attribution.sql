-- One decision per first install (DESIGN.md section 4), in rule order, from
-- batch_scratch_installs (rules 1 and 2 and the flooding count, 03-installs.sql) and
-- batch_scratch_probabilistic (rule 3, 04-probabilistic.sql):
--   4. organic when neither matches;
--   5. fraud, first rule that holds: click_injection (CTIT < 10 s), click_flooding (> 20
--      device clicks in [t - 24 h, t]), blocked_ip (the click's or the install's ip in the
--      global list or the app's own).
-- The rules are rules/attribution-rules.sql's. Per-app blocklists arrive as parallel arrays
-- ({app_ids}, {app_blocklists}); an app not in them has no own list. (app_id, device_id) is
-- unique in batch_scratch_probabilistic, so an ANY join returns what an ALL join would.
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
           if(match = '', '',
              weir_fraud_reason(ctit, clicks_24h, click.5, install_ip,
                                weir_blocklist(app_id, {app_ids:Array(String)}, {app_blocklists:Array(Array(String))}, {global_blocklist:Array(String)}))) AS fraud_reason
    FROM matched
  )
SELECT app_id, device_id, install_event_id, ts,
       weir_outcome(match, fraud_reason) AS outcome,
       match,
       if(match = '', '', click.2) AS click_event_id,
       -- A rejected install keeps its click's channel and campaign (fraud reports by channel).
       if(match = '', 'organic', click.3) AS channel,
       if(match = '', '', click.4) AS campaign_id,
       if(match = '', NULL, toNullable(ctit)) AS ctit_ms,
       fraud_reason
FROM judged
