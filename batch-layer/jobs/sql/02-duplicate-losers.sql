-- The rows that do not count (DESIGN.md section 3):
--   * one Kafka record is one copy, however many files hold it: of the rows sharing a
--     (kafka_partition, kafka_offset), all but the first (by file) are repeats;
--   * copies of one (app_id, event_id) received within the dedup horizon of the first copy are
--     one event, won by the copy received first (smallest received_at, then kafka_partition,
--     then kafka_offset); a copy received later than the horizon after the first starts a new
--     event, which the copies after it are measured against.
-- Grouping every string key is the costliest step, so keys are first grouped by their 64-bit
-- hash; only rows whose hash occurs more than once (the duplicates, the repeats, and any hash
-- collision) are then grouped by their exact key, which keeps the result exact.
INSERT INTO batch_scratch_losers_{{RUN}} (kafka_partition, kafka_offset, file_hash, ts, repeat)
WITH
  candidates AS (
    SELECT app_id, event_id, received_at, kafka_partition, kafka_offset, file_hash, ts,
           row_number() OVER (PARTITION BY kafka_partition, kafka_offset, app_id, event_id ORDER BY file_hash) > 1 AS is_repeat
    FROM batch_scratch_events_{{RUN}}
    WHERE key_hash IN (SELECT key_hash FROM batch_scratch_events_{{RUN}} GROUP BY key_hash HAVING count() > 1)
  ),
  copies AS (
    -- Each key's records in the order of DESIGN.md's tie rule, and for each whether it starts
    -- an event (1) or duplicates the event started last (0).
    SELECT records,
           arrayFold((acc, r) -> if(r.1 - acc.1 > {horizon_ms:Int64}, (r.1, arrayPushBack(acc.2, 1)), (acc.1, arrayPushBack(acc.2, 0))),
                     records, (records[1].1 - {horizon_ms:Int64} - 1, CAST([], 'Array(UInt8)'))).2 AS starts
    FROM (
      SELECT arraySort(groupArray(tuple(received_at, kafka_partition, kafka_offset, file_hash, ts))) AS records
      FROM candidates
      WHERE NOT is_repeat
      GROUP BY app_id, event_id
      HAVING count() > 1
    )
  )
SELECT kafka_partition, kafka_offset, file_hash, ts, 1 FROM candidates WHERE is_repeat
UNION ALL
SELECT r.2, r.3, r.4, r.5, 0 FROM copies ARRAY JOIN records AS r, starts AS s WHERE s = 0
