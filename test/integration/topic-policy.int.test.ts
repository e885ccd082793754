/**
 * The topics weir creates, and the start-up warnings about existing ones, on the real test
 * broker (one node): created topics get RF 1 and min.insync.replicas 1 (RF = min(3, brokers),
 * min.insync = max(1, RF − 1)); an events topic kept for less than 7 days is a pino warning
 * with the figures when `weir start` sets up its topics.
 */
import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes } from 'kafkajs';
import { startWeir } from '../../cli/start';
import { loadConfig } from '../../infra/config';
import { createKafka, ensureTopics, TOPIC_MAX_MESSAGE_BYTES } from '../../infra/kafka/local-broker';
import { createLogger } from '../../infra/logger';
import { testBrokers } from '../setup/test-broker';
import { removeScratchDir } from '../support/scratch-dir';
import { testEnv } from '../support/test-stack';

const DAY_MS = 86_400_000;

describe('topic replication and retention checks', () => {
  const admin = createKafka(testBrokers(), 'topic-policy-test').admin();
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  const topicConfig = async (topic: string, names: string[]) => {
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }] });
    return Object.fromEntries(resources[0].configEntries.map((e) => [e.configName, e.configValue]));
  };

  it('creates topics with RF 1 and min.insync.replicas 1 on a one-broker cluster, and no warnings', async () => {
    const topic = `topic-policy-${randomBytes(4).toString('hex')}`;
    expect((await admin.describeCluster()).brokers).toHaveLength(1);
    expect(await ensureTopics(testBrokers(), [{ topic, numPartitions: 3 }])).toEqual([]);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    expect(metadata.partitions.map((p) => p.replicas.length)).toEqual([1, 1, 1]);
    expect(await topicConfig(topic, ['min.insync.replicas', 'max.message.bytes'])).toEqual({
      'min.insync.replicas': '1',
      'max.message.bytes': String(TOPIC_MAX_MESSAGE_BYTES),
    });
  });

  it('logs a warning with the figures at start when the existing events topic keeps records for under 7 days', async () => {
    const { env, prefix, dataDir } = testEnv();
    const cfg = loadConfig(env);
    await admin.createTopics({
      topics: [{ topic: `${prefix}events`, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: String(DAY_MS) }] }],
      waitForLeaders: true,
    });
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const running = await startWeir(cfg, { role: 'archiver', demo: false }, log);
    await running.stop();
    removeScratchDir(dataDir);

    const warnings = lines.filter((l) => l.level === 40 && l.component === 'kafka');
    expect(warnings).toEqual([
      expect.objectContaining({
        topic: `${prefix}events`,
        retentionMs: DAY_MS,
        retentionDays: 1,
        minimumDays: 7,
        msg: expect.stringMatching(/keeps records for 1\.00 days \(retention\.ms 86400000\), under 7/),
      }),
    ]);
  });
});
