/**
 * The collector's producer (@platformatic/kafka) on the real broker: it puts every key in the
 * partition kafkajs's default partitioner picks, so a device's events stay in one partition
 * whichever client wrote them, and an acknowledged send is in the log.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type PartitionMetadata } from 'kafkajs';
import { ensureTopics } from '../../infra/kafka/local-broker';
import { createPlatformaticProducer } from '../../infra/kafka/platformatic-producer';
import { eventKey } from '../../schemas/topics';
import { testBrokers } from '../setup/test-broker';
import { readTopic } from '../support/test-stack';

const PARTITIONS = 7;

describe('platformatic producer', () => {
  it("writes each key to kafkajs's partition for it, and every acknowledged record", async () => {
    const suffix = randomBytes(4).toString('hex');
    const ours = `platformatic-${suffix}`;
    const theirs = `kafkajs-${suffix}`;
    await ensureTopics(testBrokers(), [ours, theirs].map((topic) => ({ topic, numPartitions: PARTITIONS })));
    // Keys as the collector builds them, plus odd ones (empty device part, non-ASCII, long).
    const keys = [
      ...Array.from({ length: 1500 }, (_, i) => eventKey(`app${i % 3}`, `device-${i}`)),
      eventKey('a', ''),
      eventKey('émoji-app', 'дев😀ice'),
      eventKey('a', 'x'.repeat(300)),
    ];
    const records = keys.map((key, i) => ({ key, value: JSON.stringify({ i }), timestamp: Date.now() }));

    const producer = createPlatformaticProducer({ brokers: testBrokers(), clientId: `test-${suffix}` });
    try {
      // Two sends, so the second rides the idempotent producer's next sequence numbers.
      await producer.send([{ topic: ours, records: records.slice(0, 700) }]);
      await producer.send([{ topic: ours, records: records.slice(700) }]);
    } finally {
      await producer.close();
    }
    const kafkajs = new Kafka({ clientId: `test-${suffix}`, brokers: testBrokers(), logLevel: logLevel.NOTHING });
    const kp = kafkajs.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await kp.connect();
    try {
      await kp.send({ topic: theirs, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value })) });
    } finally {
      await kp.disconnect();
    }

    const written = await readTopic(ours);
    expect(written).toHaveLength(records.length);
    const byKafkajs = new Map((await readTopic(theirs)).map((m) => [m.key, m.partition]));
    const partitionMetadata: PartitionMetadata[] = Array.from({ length: PARTITIONS }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 1, replicas: [1], isr: [1] }));
    const stock = Partitioners.DefaultPartitioner();
    for (const m of written) {
      expect([m.key, m.partition]).toEqual([m.key, byKafkajs.get(m.key)]);
      expect([m.key, m.partition]).toEqual([m.key, stock({ topic: ours, partitionMetadata, message: { key: m.key, value: null } })]);
    }
    expect(new Set(written.map((m) => m.partition)).size).toBe(PARTITIONS);
  });
});
