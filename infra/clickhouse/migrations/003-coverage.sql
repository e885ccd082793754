-- Days covered by batch views (DESIGN.md section 5). Written by the batch layer when it swaps
-- a day's views in; read by serving to pick batch or speed per bucket.
CREATE TABLE IF NOT EXISTS batch_coverage (
  day Date,
  run_id String,
  covered_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(covered_at)
ORDER BY day;
