-- The first installs of the window's days, as attributions_batch rows of this run. (The window
-- filter sits in a subquery: outside it, `ts` would name the DateTime64 alias, not the ms column.)
INSERT INTO attributions_batch_staging_{{RUN}}
SELECT app_id, install_event_id, device_id,
       fromUnixTimestamp64Milli(ts, 'UTC') AS ts,
       outcome, match, click_event_id, channel, campaign_id, ctit_ms, fraud_reason,
       fromUnixTimestamp64Milli({decided_at_ms:Int64}, 'UTC') AS decided_at,
       {run_id:String}
FROM (
  SELECT * FROM batch_scratch_attribution_{{RUN}}
  WHERE ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64}
)
