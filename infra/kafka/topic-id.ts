/**
 * A topic's identity: the UUID Kafka gives a topic when it is created. Offsets mean something
 * only within one topic id: a topic deleted and created again under the same name (or found on
 * another cluster, or under another KAFKA_TOPIC_PREFIX) starts again at 0, and a consumer that
 * resumed at its old position would skip everything below it without a word.
 *
 * kafkajs 2.2.4 asks for Metadata v6, which has no topic ids (they came with v10, KIP-516);
 * @platformatic/kafka, already the collector's producer, asks for a version that does.
 */
import { Admin } from '@platformatic/kafka';
import { platformaticSecurity, type KafkaSecurity } from './security';

export type TopicIdOf = (topic: string) => Promise<string>;

export function createTopicIdLookup(brokers: string[], security?: KafkaSecurity): TopicIdOf {
  return async (topic) => {
    const admin = new Admin({ clientId: 'weir-topic-id', bootstrapBrokers: brokers, retries: 2, retryDelay: 250, ...platformaticSecurity(security) });
    try {
      const md = await admin.metadata({ topics: [topic] });
      const id = md.topics.get(topic)?.id;
      if (!id || /^0+(-0+)*$/.test(id) || /^A{22}$/.test(id)) throw new Error(`Kafka reported no topic id for '${topic}'`);
      return id;
    } finally {
      await admin.close();
    }
  };
}

/**
 * The topic's id, looked up once per group join (`reset` at each: the topic may have been
 * recreated meanwhile); a failed lookup is forgotten, so the next call asks again.
 */
export function createJoinTopicId(lookup: TopicIdOf, topic: string): { get(): Promise<string>; reset(): void } {
  let id: Promise<string> | undefined;
  return {
    get: () =>
      (id ??= lookup(topic).catch((err: unknown) => {
        id = undefined;
        throw err;
      })),
    reset: () => void (id = undefined),
  };
}
