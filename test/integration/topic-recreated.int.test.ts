/**
 * The `events` topic is deleted and created again under the same name while a consumer is
 * down: its offsets start again at 0. The archiver and the speed layer must not resume from
 * their stored positions (they would skip every new message below them without a word); they
 * refuse, say why in `/ready` and their metrics, and stay up: both stored the topic's id with
 * their positions.
 */
import path from 'node:path';
import { createKafka, ensureTopics } from '../../infra/kafka/local-broker';
import { topicNames } from '../../schemas/topics';
import { testBrokers } from '../setup/test-broker';
import { readArchive } from '../support/archive-reader';
import { metricMax } from '../support/metrics';
import { removeScratchDir } from '../support/scratch-dir';
import { groupCaughtUp, produce, storedEvents } from '../support/speed-fixture';
import { testEnv } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';

jest.setTimeout(240_000);

describe.each(['archiver', 'speed'] as const)('%s after its topic was recreated', (role) => {
  const { env, dataDir, prefix } = testEnv();
  const topics = topicNames(prefix);
  const archiveUrl = `file://${path.join(dataDir, 'archive')}`;
  const roleEnv = { ...env, KAFKA_EVENTS_PARTITIONS: '1' };
  const createTopics = () =>
    ensureTopics(testBrokers(), [
      { topic: topics.events, numPartitions: 1 },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.attributions, numPartitions: 1 },
    ]);
  const caughtUp = () => groupCaughtUp(topics.events, `${topics.events}-${role}`);
  let weir: WeirProcess | undefined;
  afterAll(async () => {
    await weir?.stop('SIGKILL');
    removeScratchDir(dataDir);
  });

  it('refuses to resume at its old position, with a clear error and the messages it would skip', async () => {
    await createTopics();
    weir = await startWeirProcess(['--role', role], roleEnv, 120_000);
    const before = storedEvents(31, 300);
    await produce(topics.events, before);
    await waitFor(caughtUp, { timeoutMs: 60_000, what: 'first topic consumed' });
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

    weir = await startWeirProcess(['--role', role], roleEnv, 120_000);
    const w2 = weir;
    const ready = await waitFor(
      async () => {
        const res = await fetch(`${w2.url}/ready`);
        const body = (await res.json()) as { checks: Record<string, string> };
        return res.status === 503 && /refusing to resume/.test(body.checks[role] ?? '') ? body.checks[role] : undefined;
      },
      { timeoutMs: 60_000, what: '/ready refusing the old position' },
    );
    expect(ready).toMatch(/topic id \S+, the topic now has id \S+/);
    expect(await metricMax(w2.url, `weir_${role}_refused_skipped_messages`)).toBe(after.length);
    expect(w2.child.exitCode).toBeNull();
    // Nothing of the new topic was archived over or past the old position.
    if (role === 'archiver') expect((await readArchive(archiveUrl)).length).toBe(before.length);
  });
});
