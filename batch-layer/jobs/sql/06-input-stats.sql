-- What a run read: input rows of the whole dataset, and of the window's days the
-- non-winning copies dropped and the late events taken in. A late event is a winning copy
-- received after its UTC day (by corrected event time) ended plus the grace period, i.e.
-- one the nightly run right after that day could not have seen.
SELECT
  (SELECT count() FROM batch_scratch_events) AS rows_read,
  (SELECT count() FROM batch_scratch_losers WHERE ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64}) AS duplicates_dropped,
  (SELECT count() FROM batch_scratch_events
    WHERE in_window
      AND received_at > (intDiv(ts, 86400000) + 1) * 86400000 + {grace_ms:Int64}
      AND (kafka_partition, kafka_offset) NOT IN (SELECT kafka_partition, kafka_offset FROM batch_scratch_losers)) AS late_events
