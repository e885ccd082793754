/**
 * A LogProducer on @platformatic/kafka: idempotent, acks=all, partitioned like kafkajs.
 *
 * - Partitioning: @platformatic/kafka's default partitioner hashes the key to an *unsigned*
 *   murmur2 (`>>> 0`), which sends many keys to another partition than kafkajs's and Java's
 *   `toPositive` (`& 0x7fffffff`). Events are keyed by app_id + device_id so that a device's
 *   events meet in one partition, also across a client change, so the partition comes from
 *   keyPartition (the producer takes the result modulo the partition count).
 * - Idempotent: the broker drops a batch the client retries after a lost response. When a
 *   send fails in the end, the client starts over with a new producer id, so the collector's
 *   503 and the caller's retry can still write a copy (resolved downstream, DESIGN section 3).
 * - Timeouts: a send fails within seconds while the brokers are down (as createKafka's
 *   kafkajs settings do), so the collector answers 503 before HTTP clients give up; the
 *   producer reconnects by itself when a broker returns.
 */
import { Producer, ProduceAcks, stringSerializers, type Partitioner } from '@platformatic/kafka';
import { keyHash } from './key-partitioner';
import type { LogProducer, TopicRecords } from './log-producer';
import { platformaticSecurity, type KafkaSecurity } from './security';

export interface PlatformaticProducerOptions {
  brokers: string[];
  clientId: string;
  security?: KafkaSecurity;
}

/** The producer reduces this modulo the topic's partition count: kafkajs's `toPositive(murmur2(key)) % n`. */
const kafkajsPartitioner: Partitioner<string, string, string, string> = (_message, key) => (key ? keyHash(key) & 0x7fffffff : 0);

export function createPlatformaticProducer(opts: PlatformaticProducerOptions): LogProducer {
  if (opts.brokers.length === 0) throw new Error('createPlatformaticProducer: no brokers given');
  const producer = new Producer<string, string, string, string>({
    clientId: opts.clientId,
    bootstrapBrokers: opts.brokers,
    serializers: stringSerializers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    partitioner: kafkajsPartitioner,
    autocreateTopics: false,
    connectTimeout: 1000,
    requestTimeout: 3000,
    timeout: 3000,
    retries: 2,
    retryDelay: 250,
    ...platformaticSecurity(opts.security),
  });
  let closing: Promise<void> | undefined;
  return {
    async send(batch: TopicRecords[]) {
      const messages = [];
      for (const { topic, records } of batch) {
        // The records of a request share their timestamp: one BigInt for them all.
        let ms = NaN;
        let timestamp = 0n;
        for (const r of records) {
          if (r.timestamp !== ms) timestamp = BigInt((ms = r.timestamp));
          messages.push({ topic, key: r.key, value: r.value, timestamp });
        }
      }
      if (messages.length) await producer.send({ messages });
    },
    close: () => (closing ??= producer.close()),
  };
}
