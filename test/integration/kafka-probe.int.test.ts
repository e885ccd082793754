/**
 * `/ready`'s Kafka check keeps one admin connection between probes, against the real broker,
 * and reconnects after a failed probe.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { createKafka, ensureTopics } from '../../infra/kafka/local-broker';
import { createKafkaProbe } from '../../infra/kafka/kafka-probe';
import { testBrokers } from '../setup/test-broker';

describe('Kafka readiness probe', () => {
  it('reuses one admin connection across probes and opens a new one after a failure', async () => {
    const topic = `probe-${randomBytes(4).toString('hex')}`;
    await ensureTopics(testBrokers(), [{ topic, numPartitions: 1 }]);
    const kafka = createKafka(testBrokers(), 'probe-test');
    let admins = 0;
    // The real client; only its admin() calls are counted.
    const counting = Object.assign(Object.create(kafka) as Kafka, { admin: () => (admins++, kafka.admin()) });

    const probe = createKafkaProbe(counting, topic);
    for (let i = 0; i < 10; i++) await probe.check();
    expect(admins).toBe(1);
    await probe.stop();

    const missing = createKafkaProbe(counting, `${topic}-missing`);
    await expect(missing.check()).rejects.toThrow();
    await expect(missing.check()).rejects.toThrow();
    expect(admins).toBe(3);
    await missing.stop();
  });
});
