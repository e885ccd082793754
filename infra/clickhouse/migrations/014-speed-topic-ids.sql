-- The id of the topic (Kafka's topic UUID, infra/kafka/topic-id.ts) whose offsets each
-- partition's rows in events_rt are: a partition resumes only while the topic still has that
-- id (PartitionProcessor.checkResume), else a recreated topic's messages below the old position
-- would be skipped without a word. One row per partition (the latest wins): bounded by the
-- partition count.
CREATE TABLE IF NOT EXISTS speed_topic_ids (
  kafka_partition UInt16,
  topic_id String,
  at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(at)
ORDER BY kafka_partition;
