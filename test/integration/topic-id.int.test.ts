/** A topic's id from the real broker: stable while the topic lives, new once it is recreated. */
import { randomBytes } from 'node:crypto';
import { createKafka, ensureTopics } from '../../infra/kafka/local-broker';
import { createTopicIdLookup } from '../../infra/kafka/topic-id';
import { testBrokers } from '../setup/test-broker';
import { waitFor } from '../support/wait-for';

describe('topic id', () => {
  it('is stable for a topic and changes when the topic is deleted and created again', async () => {
    const topic = `topic-id-${randomBytes(4).toString('hex')}`;
    const idOf = createTopicIdLookup(testBrokers());
    await ensureTopics(testBrokers(), [{ topic, numPartitions: 1 }]);
    const first = await idOf(topic);
    expect(first).toMatch(/^\S{16,}$/);
    expect(await idOf(topic)).toBe(first);

    const admin = createKafka(testBrokers(), 'topic-id-test').admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [topic] });
      await waitFor(async () => !(await admin.listTopics()).includes(topic), { what: 'topic deleted' });
    } finally {
      await admin.disconnect();
    }
    await waitFor(async () => {
      await ensureTopics(testBrokers(), [{ topic, numPartitions: 1 }]);
      return true;
    }, { what: 'topic created again' });
    const second = await waitFor(() => idOf(topic), { what: 'new topic id' });
    expect(second).not.toBe(first);
    await expect(idOf(`${topic}-missing`)).rejects.toThrow();
  });
});
