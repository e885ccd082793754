import type { Admin, Kafka } from 'kafkajs';
import type { ReadinessCheck } from '../http/http-server';

/**
 * `/ready`'s Kafka check over one admin connection, kept between probes: a connection per probe
 * cost a TCP and metadata handshake every few seconds per replica. A failed probe drops the
 * connection, so the next one connects afresh.
 */
export function createKafkaProbe(kafka: Kafka, topic: string): { check: ReadinessCheck; stop: () => Promise<void> } {
  let admin: Promise<Admin> | undefined;
  const drop = async () => {
    const a = admin;
    admin = undefined;
    await (await a?.catch(() => undefined))?.disconnect();
  };
  return {
    check: async () => {
      try {
        const a = await (admin ??= (async () => {
          const fresh = kafka.admin();
          await fresh.connect();
          return fresh;
        })());
        await a.fetchTopicMetadata({ topics: [topic] });
      } catch (err) {
        await drop();
        throw err;
      }
    },
    stop: drop,
  };
}
