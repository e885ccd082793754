-- The rows that do not count (DESIGN.md section 3):
--   * one Kafka record is one copy, however many files hold it: of the rows sharing a
--     (kafka_partition, kafka_offset), all but the first (by file) are repeats;
--   * copies of one (app_id, event_id) received within the dedup horizon of the first copy are
--     one event, won by the copy received first (smallest received_at, then kafka_partition,
--     then kafka_offset); a copy received later than the horizon after the first starts a new
--     event, which the copies after it are measured against.
-- Grouping every string key is the costliest step, so keys are first grouped by their 64-bit
-- hash; only rows whose hash occurs more than once (the duplicates, the repeats, and any hash
-- collision) are then grouped by their exact key, which keeps the result exact. Each key's rows
-- are sorted in the order of the tie rule, then by file: the rows of one record (one
-- received_at, partition and offset) lie next to each other, the first of them counts.
INSERT INTO batch_scratch_losers_{{RUN}} (kafka_partition, kafka_offset, file_hash, ts, repeat)
SELECT r.2, r.3, r.4, r.5, repeat
FROM (
  SELECT rows, repeats,
         arrayFilter((r, rep) -> NOT rep, rows, repeats) AS records,
         -- for each record whether it starts an event (1) or duplicates the event started last (0)
         arrayFold((acc, r) -> if(r.1 - acc.1 > {horizon_ms:Int64}, (r.1, arrayPushBack(acc.2, 1)), (acc.1, arrayPushBack(acc.2, 0))),
                   records, (records[1].1 - {horizon_ms:Int64} - 1, CAST([], 'Array(UInt8)'))).2 AS starts,
         -- per row: counts (1) when it is the first row of its record and that record starts an event
         arrayMap((rep, k) -> NOT rep AND starts[k] = 1, repeats, arrayCumSum(arrayMap(rep -> NOT rep, repeats))) AS counted
  FROM (
    SELECT rows,
           arrayMap(i -> i > 1 AND rows[i].2 = rows[i - 1].2 AND rows[i].3 = rows[i - 1].3, arrayEnumerate(rows)) AS repeats
    FROM (
      SELECT arraySort(groupArray(tuple(received_at, kafka_partition, kafka_offset, file_hash, ts))) AS rows
      FROM {{ROWS}}
      WHERE cityHash64(app_id, event_id) IN (SELECT cityHash64(app_id, event_id) AS key_hash FROM {{ROWS}} GROUP BY key_hash HAVING count() > 1)
      GROUP BY app_id, event_id
      HAVING count() > 1
    )
  )
)
ARRAY JOIN rows AS r, repeats AS repeat, counted AS counts
WHERE NOT counts
{{SETTINGS}}
