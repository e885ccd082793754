-- What a run read: the rows of its input files, and of the window's days the non-winning
-- copies dropped (a Kafka record archived twice is one copy: its repeats are no duplicates)
-- and the late events taken in. A late event is a winning copy received after its UTC day (by
-- corrected event time) ended plus the grace period, i.e. one the nightly run right after
-- that day could not have seen.
SELECT
  (SELECT count() FROM batch_scratch_events_{{RUN}}) AS rows_read,
  (SELECT count() FROM batch_scratch_losers_{{RUN}}
    WHERE NOT repeat AND ts >= {window_start_ms:Int64} AND ts < {window_end_ms:Int64}) AS duplicates_dropped,
  (SELECT count() FROM batch_scratch_events_{{RUN}}
    WHERE in_window
      AND received_at > (intDiv(ts, 86400000) + 1) * 86400000 + {grace_ms:Int64}
      AND (kafka_partition, kafka_offset, file_hash) NOT IN (SELECT kafka_partition, kafka_offset, file_hash FROM batch_scratch_losers_{{RUN}})) AS late_events
