-- What a run read: the rows of its input files, and of the window's days the non-winning
-- copies dropped (a Kafka record archived twice is one copy: its repeats are no duplicates)
-- and the late events taken in. A late event is a winning copy received after its UTC day (by
-- corrected event time) ended plus the grace period, i.e. one the nightly run right after
-- that day could not have seen.
SELECT
  (SELECT count() FROM {{ROWS}}) AS rows_read,
  (SELECT count() FROM batch_scratch_losers_{{RUN}}
    WHERE NOT repeat AND ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64}) AS duplicates_dropped,
  (SELECT count() FROM {{WINDOW_COUNTED}}
    WHERE ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64}
      AND received_at > (intDiv(ts, 86400000) + 1) * 86400000 + {grace_ms:Int64}) AS late_events
{{SETTINGS}}
