-- Rule 1 is over all history: the first install of a device whose events the window holds may
-- lie before the window. It is read from the state earlier runs and backfills left (DESIGN.md
-- section 5): the batch attributions of the days they covered, the smallest (ts, event_id)
-- before the window per device. A device with such an install has no first install in the
-- window (its installs there are reinstalls), and its events inherit that install's decision.
INSERT INTO batch_scratch_prior_{{RUN}}
SELECT app_id, device_id, first.1, first.2, first.3, first.4, first.5, first.6
FROM (
  SELECT app_id, device_id,
         argMin(tuple(install_event_id, toUnixTimestamp64Milli(ts), outcome, CAST(channel AS String), CAST(campaign_id AS String),
                      CAST(fraud_reason AS String)),
                tuple(ts, install_event_id)) AS first
  FROM attributions_batch
  WHERE ts < fromUnixTimestamp64Milli({window_start_ms:Int64}, 'UTC')
    -- every copy's device, also a non-winning one's: a superset of the devices looked up
    AND (app_id, device_id) IN (SELECT DISTINCT CAST(app_id AS String), device_id FROM {{WINDOW_ROWS}}
                                WHERE ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64})
  GROUP BY app_id, device_id
)
{{SETTINGS}}
