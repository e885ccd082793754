/** How weir replicates the topics it creates, and what it warns about in existing ones (infra/kafka/topic-policy.ts). */
import { MIN_RETENTION_MS, topicReplication, topicWarnings } from '../../infra/kafka/topic-policy';

const DAY_MS = 86_400_000;

describe('topic replication for a cluster', () => {
  it.each([
    [1, 1, 1],
    [2, 2, 1],
    [3, 3, 2],
    [5, 3, 2],
  ])('on %i broker(s): RF %i, min.insync.replicas %i', (brokers, replicationFactor, minInsyncReplicas) => {
    expect(topicReplication(brokers)).toEqual({ replicationFactor, minInsyncReplicas });
  });
});

describe('start-up warnings about an existing topic', () => {
  const week = { topic: 'events', replicationFactor: 3, retentionMs: MIN_RETENTION_MS };

  it('has none for a replicated topic kept a week or forever, or when the cluster gave no retention', () => {
    expect(topicWarnings(week, 3)).toEqual([]);
    expect(topicWarnings({ ...week, retentionMs: -1 }, 3)).toEqual([]);
    expect(topicWarnings({ ...week, retentionMs: undefined }, 3)).toEqual([]);
  });

  it('accepts RF 1 on a one-broker cluster, and warns about it on a larger one with the figures', () => {
    expect(topicWarnings({ ...week, replicationFactor: 1 }, 1)).toEqual([]);
    const [w] = topicWarnings({ ...week, replicationFactor: 1 }, 4);
    expect(w).toMatchObject({ topic: 'events', figures: { replicationFactor: 1, brokers: 4, recommendedReplicationFactor: 3 } });
    expect(w.message).toMatch(/events has replication factor 1 on a cluster of 4 brokers.*raise it to 3/);
    expect(topicWarnings({ ...week, replicationFactor: 2 }, 4)).toEqual([]);
  });

  it('warns about a retention under 7 days with the figures, both warnings together when both apply', () => {
    const warnings = topicWarnings({ topic: 'events.dlq', replicationFactor: 1, retentionMs: 2 * DAY_MS }, 3);
    expect(warnings.map((w) => w.figures)).toEqual([
      { replicationFactor: 1, brokers: 3, recommendedReplicationFactor: 3 },
      { retentionMs: 2 * DAY_MS, retentionDays: 2, minimumDays: 7 },
    ]);
    expect(warnings[1].message).toMatch(/events\.dlq keeps records for 2\.00 days \(retention\.ms 172800000\), under 7/);
    expect(topicWarnings({ ...week, retentionMs: MIN_RETENTION_MS - 1 }, 3)).toHaveLength(1);
  });
});
