/**
 * The `events` topic is deleted and created again under the same name while the archiver is
 * down: its offsets start again at 0. The archiver must not resume from its stored position
 * (it would skip every new message below it without a word); it refuses, says why in `/ready`
 * and its metrics, and stays up.
 */
import path from 'node:path';
import { createKafka, ensureTopics } from '../../infra/kafka/local-broker';
import { topicNames } from '../../schemas/topics';
import { testBrokers } from '../setup/test-broker';
import { readArchive } from '../support/archive-reader';
import { metricMax, metricValue } from '../support/metrics';
import { removeScratchDir } from '../support/scratch-dir';
import { produce, storedEvents } from '../support/speed-fixture';
import { testEnv } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';

jest.setTimeout(240_000);

describe('archiver after its topic was recreated', () => {
  const { env, dataDir, prefix } = testEnv();
  const topics = topicNames(prefix);
  const archiveUrl = `file://${path.join(dataDir, 'archive')}`;
  const roleEnv = { ...env, KAFKA_EVENTS_PARTITIONS: '1' };
  const createTopics = () =>
    ensureTopics(testBrokers(), [
      { topic: topics.events, numPartitions: 1 },
      { topic: topics.dlq, numPartitions: 1 },
    ]);
  let weir: WeirProcess | undefined;
  afterAll(async () => {
    await weir?.stop('SIGKILL');
    removeScratchDir(dataDir);
  });

  it('refuses to resume at its old position, with a clear error and the messages it would skip', async () => {
    await createTopics();
    weir = await startWeirProcess(['--role', 'archiver'], roleEnv);
    const before = storedEvents(31, 300);
    await produce(topics.events, before);
    const w1 = weir;
    await waitFor(async () => (await metricValue(w1.url, 'weir_archiver_events_total')) >= before.length || undefined, { timeoutMs: 60_000, what: 'first topic archived' });
    expect(await weir.stop('SIGTERM')).toBe(0);
    weir = undefined;

    const admin = createKafka(testBrokers(), 'recreate-test').admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [topics.events] });
      await waitFor(async () => !(await admin.listTopics()).includes(topics.events), { what: 'topic deleted' });
    } finally {
      await admin.disconnect();
    }
    await waitFor(async () => (await createTopics(), true), { what: 'topic created again' });
    const after = storedEvents(32, 50);
    await produce(topics.events, after);

    weir = await startWeirProcess(['--role', 'archiver'], roleEnv);
    const w2 = weir;
    const ready = await waitFor(
      async () => {
        const res = await fetch(`${w2.url}/ready`);
        const body = (await res.json()) as { checks: Record<string, string> };
        return res.status === 503 && /refusing to resume/.test(body.checks.archiver ?? '') ? body.checks.archiver : undefined;
      },
      { timeoutMs: 60_000, what: '/ready refusing the old position' },
    );
    expect(ready).toMatch(/topic id .* now has id/);
    expect(await metricMax(w2.url, 'weir_archiver_refused_skipped_messages')).toBe(after.length);
    expect(w2.child.exitCode).toBeNull();
    // Nothing of the new topic was archived over or past the old position.
    expect((await readArchive(archiveUrl)).length).toBe(before.length);
  });
});
