-- A flush group's rows into events_rt with the derived dimensions of DESIGN.md section 5
-- (rules/attribution-rules.sql), as the stream knows them: a device's first install is known to
-- its events that arrive after it (decided by an earlier group: arrival -1; by this one: its
-- offset), or that are it.
INSERT INTO events_rt (app_id, event_id, ts, received_at, device_id, type, name, country, os, app_version, currency, error_type,
                       error_message, fingerprint, channel, campaign_id, fraud_reason, install_kind, revenue_micros, ip, ua,
                       kafka_partition, kafka_offset, flush_group)
SELECT s.app_id, s.event_id, s.ts, s.received_at, s.device_id, s.type, s.name, s.country, s.os, s.app_version, s.currency, s.error_type,
       s.error_message, s.fingerprint,
       weir_derived_channel(s.type, s.channel,
                            (s.type = 'install' AND f.arrival >= 0 AND toInt64(s.kafka_offset) = f.arrival) AS is_first,
                            weir_inherits(f.install_event_id != '' AND f.arrival < toInt64(s.kafka_offset), s.ts, f.ts, f.outcome) AS inherits,
                            f.channel),
       weir_derived_channel(s.type, s.campaign_id, is_first, inherits, f.campaign_id),
       if(is_first, f.fraud_reason, ''),
       weir_install_kind(s.type, is_first, f.outcome),
       s.revenue_micros, s.ip, s.ua, s.kafka_partition, s.kafka_offset, s.flush_group
FROM speed_staged AS s
LEFT ANY JOIN (
  SELECT app_id, device_id, install_event_id, ts, CAST(outcome AS String) AS outcome, channel, campaign_id, '' AS fraud_reason, toInt64(-1) AS arrival
  FROM speed_first_installs
  WHERE flush_group != {group:String}
    AND (app_id, device_id) IN (SELECT CAST(app_id AS String), device_id FROM speed_staged WHERE flush_group = {group:String})
  UNION ALL
  SELECT app_id, device_id, install_event_id, ts, CAST(outcome AS String), channel, campaign_id, CAST(fraud_reason AS String), toInt64(kafka_offset)
  FROM speed_decisions
  WHERE flush_group = {group:String}
) AS f ON f.app_id = CAST(s.app_id AS String) AND f.device_id = s.device_id
WHERE s.flush_group = {group:String} AND {{FENCE}}
