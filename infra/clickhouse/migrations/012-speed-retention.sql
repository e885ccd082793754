-- Speed-side retention (DESIGN.md section 5, "Retention"): the days whose speed views were
-- dropped SPEED_RETENTION_DAYS after batch covered them (batch-layer/speed-retention.ts), so
-- that drift can say "expired" for them instead of comparing with an empty speed side. One row
-- per day: bounded by the days kept.
CREATE TABLE IF NOT EXISTS speed_expired_days (
  day Date,
  expired_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(expired_at)
ORDER BY day;
