-- The state and the stream's decisions a flush group adds, each its own statement (a token
-- each, so that a redo writes only what is missing): its first installs, its clicks by device
-- and by (app, ip, ua) (the speed view the probabilistic match reads, written here so that the
-- next group's decisions see it), and its decisions as attributions_rt rows.
INSERT INTO speed_first_installs
SELECT app_id, device_id, install_event_id, ts, outcome, channel, campaign_id, flush_group
FROM speed_decisions WHERE flush_group = {group:String} AND {{FENCE}};

INSERT INTO speed_device_clicks (app_id, device_id, ts, event_id, ip, channel, campaign_id)
SELECT CAST(app_id AS String), device_id, ts, event_id, ip, CAST(channel AS String), CAST(campaign_id AS String)
FROM speed_staged WHERE flush_group = {group:String} AND type = 'click' AND {{FENCE}};

INSERT INTO attributions_rt
SELECT app_id, install_event_id, device_id, ts, outcome, match, click_event_id, channel, campaign_id, ctit_ms, fraud_reason, decided_at
FROM speed_decisions WHERE flush_group = {group:String} AND {{FENCE}};

INSERT INTO clicks_by_ip_ua_rt (app_id, ip, ua, ts, event_id, channel, campaign_id, kafka_partition)
SELECT app_id, ip, ua, ts, event_id, channel, campaign_id, kafka_partition
FROM speed_staged WHERE flush_group = {group:String} AND type = 'click' AND ip != '' AND ua != '' AND {{FENCE}};
