/**
 * The archiver is killed with SIGKILL at random points while it consumes, three times, and
 * restarted; afterwards the archive holds every offset of `events` exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { createKafka, ensureTopics } from '../../infra/kafka/local-broker';
import { REPO_ROOT } from '../../infra/paths';
import { createObjectStore } from '../../infra/object-store/object-store';
import { parseArchiveKey, ARCHIVE_PREFIX } from '../../schemas/archive-layout';
import type { StoredEvent } from '../../schemas/event';
import { topicNames } from '../../schemas/topics';
import { testBrokers } from '../setup/test-broker';
import { testEnv } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { removeScratchDir } from '../support/scratch-dir';

const PARTITIONS = 4;
const TOTAL = 40_000;
const DAY = 86_400_000;

function storedEvent(i: number): StoredEvent {
  const ts = Date.UTC(2026, 10, 20) + (i % 3) * DAY + i; // three event dates
  return {
    event_id: `e${i}`, app_id: 'crash', type: 'launch', ts, client_ts: ts, sent_at: 0, received_at: ts, device_id: `d${i % 997}`,
    ip: '10.0.0.1', ua: 'ua', os: 'ios', os_version: '17', app_version: '1.0', country: 'US', campaign_id: '', channel: '', name: '',
    revenue_micros: 0, currency: '', error_type: '', error_message: '', fingerprint: '', properties: '',
  };
}

describe('archiver under SIGKILL', () => {
  const { env, dataDir, prefix } = testEnv();
  const topics = topicNames(prefix);
  const store = createObjectStore(`file://${path.join(dataDir, 'archive')}`);
  let child: ChildProcess | undefined;

  const startArchiver = () => {
    const p = spawn(path.join(REPO_ROOT, 'bin/weir'), ['start', '--role', 'archiver'], {
      env: { ...env, KAFKA_EVENTS_PARTITIONS: String(PARTITIONS), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = p;
    return p;
  };
  const kill = async (p: ChildProcess) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  const archivedOffsets = async () => {
    let n = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const buf = await store.get(`_state/archiver/events-p${p}.json`);
      if (buf) n += (JSON.parse(buf.toString()) as { next: number }).next;
    }
    return n;
  };

  afterAll(async () => {
    if (child) await kill(child);
    removeScratchDir(dataDir);
  });

  it('archives every offset exactly once across three SIGKILLs', async () => {
    const brokers = testBrokers();
    await ensureTopics(brokers, [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
    ]);
    const producer = createKafka(brokers, 'crash-test').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Produce while the archiver runs and dies, so kills land mid-batch: spread over about
    // 40 s, longer than the three restarts take. (Produced in a few seconds, everything could
    // be archived before a kill, and the next restart would have no progress to show.)
    const producing = (async () => {
      for (let i = 0; i < TOTAL; i += 1000) {
        const messages = Array.from({ length: 1000 }, (_, k) => ({ key: `k${(i + k) % 997}`, value: JSON.stringify(storedEvent(i + k)) }));
        await producer.send({ topic: topics.events, acks: -1, messages });
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();

    let previous = 0;
    for (let k = 0; k < 3; k++) {
      const p = startArchiver();
      // Kill at a random point once it has made progress since the last kill. A restart
      // waits for the group to drop the killed member (session timeout 10 s) and for tsx to
      // start the process: generous, since a CI machine may be busy with other work.
      await waitFor(async () => (await archivedOffsets()) > previous || previous >= TOTAL, { timeoutMs: 100_000, what: 'archiver progress' });
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
      await kill(p);
      previous = await archivedOffsets();
    }
    await producing;
    await producer.disconnect();

    const final = startArchiver();
    await waitFor(async () => (await archivedOffsets()) >= TOTAL, { timeoutMs: 120_000, what: 'archive catch-up' });
    await kill(final);

    const keys = (await store.list(ARCHIVE_PREFIX)).filter((k) => k.endsWith('.arrow'));
    const seen = new Map<string, number>();
    const ranges = new Map<number, Set<string>>();
    for (const key of keys) {
      const f = parseArchiveKey(key);
      expect(f).toBeDefined();
      const file = f as NonNullable<typeof f>;
      const set = ranges.get(file.partition) ?? new Set<string>();
      set.add(`${file.first}-${file.last}`);
      ranges.set(file.partition, set);
      const table = tableFromIPC(await store.get(key));
      const offsets = table.getChild('kafka_offset')?.toArray() as BigInt64Array;
      const parts = table.getChild('kafka_partition')?.toArray() as Int32Array;
      for (let i = 0; i < table.numRows; i++) {
        const id = `${parts[i]}:${offsets[i]}`;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        expect(Number(offsets[i])).toBeGreaterThanOrEqual(file.first);
        expect(Number(offsets[i])).toBeLessThanOrEqual(file.last);
      }
    }
    expect(seen.size).toBe(TOTAL);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    // Ranges of one partition never overlap (a retried range has the same name).
    for (const set of ranges.values()) {
      const sorted = [...set].map((r) => r.split('-').map(Number)).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i][0]).toBeGreaterThan(sorted[i - 1][1]);
    }
  }, 480_000);
});
