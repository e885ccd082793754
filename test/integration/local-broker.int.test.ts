/**
 * The local Kafka broker (infra/kafka/local-broker.ts) serves what weir needs from kafkajs
 * 2.2.4, and keeps acknowledged data across a stop and restart on the same data directory.
 */
import { randomBytes } from 'node:crypto';
import { logLevel, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { createKafka, ensureTopics, readBrokerInfo } from '../../infra/kafka/local-broker';
import {
  canControlTestBroker,
  restartTestBroker,
  stopTestBroker,
  testBrokerDataDir,
  testBrokers,
} from '../setup/test-broker';

const unique = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

async function waitFor(check: () => boolean, opts: { timeoutMs: number; what: string }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends `count` keyed messages `{ i }` with the settings the collector uses: idempotent, acks=all. */
async function produce(kafka: Kafka, topic: string, count: number, perSend = 100): Promise<void> {
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let start = 0; start < count; start += perSend) {
      const messages = [];
      for (let i = start; i < Math.min(count, start + perSend); i++) {
        messages.push({ key: `device-${i % 97}`, value: JSON.stringify({ i }) });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Reads the topic from the beginning in a new consumer group with eachBatch until `count` distinct messages arrived. */
async function consumeAll(kafka: Kafka, topic: string, count: number) {
  const seen = new Map<number, number>(); // i -> partition
  let deliveries = 0;
  // disconnect() waits for the fetch in flight, which the broker holds up to maxWaitTimeInMs (5 s by default).
  const consumer: Consumer = kafka.consumer({ groupId: unique('local-broker-test'), maxWaitTimeInMs: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const message of batch.messages) {
          const { i } = JSON.parse(String(message.value)) as { i: number };
          seen.set(i, batch.partition);
          deliveries++;
          resolveOffset(message.offset);
        }
        await heartbeat();
      },
    });
    await waitFor(() => seen.size >= count, { timeoutMs: 60_000, what: `${count} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return { seen, deliveries };
}

describe('local Kafka broker with kafkajs', () => {
  let kafka: Kafka;
  beforeAll(() => {
    kafka = createKafka(testBrokers(), unique('local-broker-test'));
  });

  it('creates a 6-partition topic once and delivers 1000 idempotent acks=all messages to an eachBatch consumer group', async () => {
    const topic = unique('local-broker');
    await ensureTopics(testBrokers(), [{ topic, numPartitions: 6 }]);
    await ensureTopics(testBrokers(), [{ topic, numPartitions: 6 }]); // a second call changes nothing

    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0].partitions).toHaveLength(6);
    } finally {
      await admin.disconnect();
    }

    await produce(kafka, topic, 1000);
    const { seen, deliveries } = await consumeAll(kafka, topic, 1000);

    expect(seen.size).toBe(1000);
    expect(deliveries).toBe(1000); // no duplicates from the idempotent producer
    expect(new Set(seen.values()).size).toBe(6); // keys spread over every partition
  });

  (canControlTestBroker() ? it : it.skip)(
    'keeps acknowledged messages when the broker is stopped and restarted on the same data dir',
    async () => {
      const topic = unique('local-broker-restart');
      await ensureTopics(testBrokers(), [{ topic, numPartitions: 6 }]);
      await produce(kafka, topic, 300);
      const before = await readBrokerInfo(testBrokerDataDir());
      expect(before?.brokers).toEqual(testBrokers());

      await stopTestBroker();
      expect(await readBrokerInfo(testBrokerDataDir())).toBeUndefined();
      // The outage is real: nothing answers on the broker's port (quiet: refusals are expected).
      const probe = createKafka(testBrokers(), unique('local-broker-probe'), { retries: 0, logLevel: logLevel.NOTHING }).admin();
      await expect(probe.connect()).rejects.toThrow();

      const restarted = await restartTestBroker();
      expect(restarted.brokers).toEqual(testBrokers());
      expect(restarted.pid).not.toBe(before?.pid);
      expect((await readBrokerInfo(testBrokerDataDir()))?.pid).toBe(restarted.pid);

      const { seen } = await consumeAll(kafka, topic, 300);
      expect(seen.size).toBe(300);
    },
  );
});
