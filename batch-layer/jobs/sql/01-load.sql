-- Every row of the pinned archive files (the window's day directories and the days around
-- them that can hold its clicks and the copies of its events, archive-snapshot.ts), read once
-- into the run's scratch table with only the columns the later steps need. A row counts for
-- the window by its corrected event time. A row outside the window that is no click inside
-- the click range only takes part in dedup, so its other columns are stored as ''; `ip` and
-- `ua` only matter for clicks and installs (attribution). Rows of the uncounted types
-- (identify, group, alias: DESIGN.md section 3a) are kept in the archive and never loaded: no
-- step, view or statistic of a run sees them.
INSERT INTO batch_scratch_events_{{RUN}} (key_hash, file_hash, in_window, app_id, event_id, type, ts, received_at, kafka_partition,
                                          kafka_offset, device_id, ip, ua, channel, campaign_id, name, country, os, app_version,
                                          currency, error_type, revenue_micros)
SELECT cityHash64(app_id, event_id), file_hash, in_window, app_id, event_id, type, ts, received_at, kafka_partition, kafka_offset,
       if(needed, device_id, ''),
       if(touch, ip, ''),
       if(touch, ua, ''),
       if(needed, channel, ''), if(needed, campaign_id, ''),
       if(in_window, name, ''), if(in_window, country, ''), if(in_window, os, ''), if(in_window, app_version, ''),
       if(in_window, currency, ''), if(in_window, error_type, ''), if(in_window, revenue_micros, 0)
FROM (
  SELECT *,
         ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64} AS in_window,
         (type = 'click' AND ts >= {click_from_ms:Int64} AND ts < {window_end_ms:Int64}) OR (type = 'install' AND in_window) AS touch,
         in_window OR touch AS needed
  FROM {{ALL}}
  WHERE type NOT IN {uncounted_types:Array(String)}
)
{{SETTINGS}}
