-- Every input row of the whole master dataset, read once from the pinned archive files into
-- batch_scratch_events with only the columns the later steps need (they scan that table
-- instead of decoding the files again). `in_window`: the row's file lies in one of the
-- recomputed days' directories (what the hourly view and the statistics read). A row outside
-- the window that is no click or install before the window's end only takes part in dedup,
-- so its other columns are stored as '' (less memory on a long history); `ip` and `ua` only
-- matter for clicks and installs (attribution). Rows of the uncounted types (identify, group,
-- alias: DESIGN.md section 3a) are kept in the archive and never loaded: no step, view or
-- statistic of a run sees them.
INSERT INTO batch_scratch_events (key_hash, in_window, app_id, event_id, type, ts, received_at, kafka_partition, kafka_offset,
                                  device_id, ip, ua, channel, campaign_id, name, country, os, app_version, currency,
                                  error_type, revenue_micros)
SELECT cityHash64(app_id, event_id), in_window, app_id, event_id, type, ts, received_at, kafka_partition, kafka_offset,
       if(needed, device_id, ''),
       if(touch, ip, ''),
       if(touch, ua, ''),
       if(needed, channel, ''), if(needed, campaign_id, ''),
       if(in_window, name, ''), if(in_window, country, ''), if(in_window, os, ''), if(in_window, app_version, ''),
       if(in_window, currency, ''), if(in_window, error_type, ''), if(in_window, revenue_micros, 0)
FROM (
  SELECT *,
         archive_day IN {window_days:Array(String)} AS in_window,
         type IN ('click', 'install') AND ts < {window_end_ms:Int64} AS touch,
         in_window OR touch AS needed
  FROM {{ALL}}
  WHERE type NOT IN {uncounted_types:Array(String)}
)
{{SETTINGS}}
