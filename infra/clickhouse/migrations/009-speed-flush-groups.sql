-- The speed layer writes the batches of several partitions together, as one flush group
-- (speed-layer/group-commit.ts): each events_rt row names its group ('' for a group of one
-- partition, and for rows written before groups existed), and the group's offset ranges are
-- recorded before its rows, so that a restart can apply a half-applied group again, whole.
ALTER TABLE events_rt ADD COLUMN IF NOT EXISTS flush_group String DEFAULT '';

CREATE TABLE IF NOT EXISTS speed_flush_groups (
  flush_group String,
  partitions Array(UInt16),
  firsts Array(UInt64),
  lasts Array(UInt64),
  at DateTime('UTC') DEFAULT now()
) ENGINE = MergeTree
ORDER BY flush_group
-- Needed only until the group's progress is written (moments later, or at the next restart).
TTL at + INTERVAL 30 DAY;
