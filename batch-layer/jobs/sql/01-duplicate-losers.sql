-- Every non-winning copy of an (app_id, event_id) over the whole master dataset (DESIGN.md
-- section 3: the winner has the smallest received_at, then kafka_partition, then
-- kafka_offset). Copies of one event may carry different corrected times (a retry with
-- another sent_at) and so sit in different day directories: dedup cannot be per day.
-- Grouping every string key is the costliest step, so keys are first grouped by their 64-bit
-- hash (computed at load); only rows whose hash occurs more than once (the duplicates, plus
-- any hash collision) are then ranked by their exact key, which keeps the result exact.
INSERT INTO batch_scratch_losers (kafka_partition, kafka_offset, ts)
SELECT kafka_partition, kafka_offset, ts
FROM (
  SELECT kafka_partition, kafka_offset, ts,
         row_number() OVER (PARTITION BY app_id, event_id ORDER BY received_at, kafka_partition, kafka_offset) AS copy_rank
  FROM batch_scratch_events
  WHERE key_hash IN (SELECT key_hash FROM batch_scratch_events GROUP BY key_hash HAVING count() > 1)
)
WHERE copy_rank > 1
