/**
 * How weir's topics should be replicated and kept, for a cluster of a given size: the settings
 * of the topics weir creates, and the warnings at start-up about existing topics that fall short.
 * The decisions are pure; `inspectTopics` reads the figures they need from the cluster.
 */
import { ConfigResourceTypes, type Admin } from 'kafkajs';

const DAY_MS = 86_400_000;
/**
 * Kafka's own default (log.retention.hours = 168). A consumer (archiver, speed layer) stopped
 * longer than the retention finds the oldest events it has not read deleted: they reach
 * neither the master dataset nor the views. A week leaves room for a long weekend's outage.
 */
export const MIN_RETENTION_MS = 7 * DAY_MS;

export interface TopicReplication {
  replicationFactor: number;
  /** With acks=all a write needs this many in-sync copies, so one broker may be down (RF ≥ 2) without refusing writes or risking acknowledged ones. */
  minInsyncReplicas: number;
}

/** RF = min(3, brokers), min.insync.replicas = max(1, RF − 1). */
export function topicReplication(brokers: number): TopicReplication {
  const replicationFactor = Math.max(1, Math.min(3, brokers));
  return { replicationFactor, minInsyncReplicas: Math.max(1, replicationFactor - 1) };
}

/** What the start-up check needs to know of an existing topic. */
export interface TopicFigures {
  topic: string;
  /** The smallest replica count among its partitions. */
  replicationFactor: number;
  /** `retention.ms` (-1: kept forever); undefined when the cluster did not say. */
  retentionMs: number | undefined;
}

export interface TopicWarning {
  topic: string;
  /** The numbers behind the warning, for a structured log line. */
  figures: Record<string, number>;
  message: string;
}

/** The warnings an existing topic deserves on a cluster of `brokers` brokers. */
export function topicWarnings(t: TopicFigures, brokers: number): TopicWarning[] {
  const out: TopicWarning[] = [];
  if (t.replicationFactor === 1 && brokers > 1) {
    const recommended = topicReplication(brokers).replicationFactor;
    out.push({
      topic: t.topic,
      figures: { replicationFactor: 1, brokers, recommendedReplicationFactor: recommended },
      message:
        `topic ${t.topic} has replication factor 1 on a cluster of ${brokers} brokers: losing one broker loses acknowledged events; ` +
        `raise it to ${recommended} (kafka-reassign-partitions)`,
    });
  }
  if (t.retentionMs !== undefined && t.retentionMs !== -1 && t.retentionMs < MIN_RETENTION_MS) {
    out.push({
      topic: t.topic,
      figures: { retentionMs: t.retentionMs, retentionDays: Number((t.retentionMs / DAY_MS).toFixed(2)), minimumDays: MIN_RETENTION_MS / DAY_MS },
      message:
        `topic ${t.topic} keeps records for ${(t.retentionMs / DAY_MS).toFixed(2)} days (retention.ms ${t.retentionMs}), under ${MIN_RETENTION_MS / DAY_MS}: ` +
        `an archiver or speed layer stopped for longer loses the events it had not read yet`,
    });
  }
  return out;
}

/** The figures of existing topics, as the cluster reports them. */
export async function inspectTopics(admin: Admin, topics: string[]): Promise<TopicFigures[]> {
  if (topics.length === 0) return [];
  const metadata = await admin.fetchTopicMetadata({ topics });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] })),
  });
  const retention = new Map(
    configs.resources.map((r) => {
      const value = r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
      return [r.resourceName, value === undefined || value === null ? undefined : Number(value)];
    }),
  );
  return metadata.topics.map((t) => ({
    topic: t.name,
    replicationFactor: Math.min(...t.partitions.map((p) => p.replicas.length)),
    retentionMs: retention.get(t.name),
  }));
}
