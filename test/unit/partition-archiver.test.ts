import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { KafkaMessage } from 'kafkajs';
import { PartitionArchiver, PartitionLostError, type PartitionState } from '../../ingest/archiver/partition-archiver';
import { ResumeRefusedError } from '../../infra/kafka/refused-partitions';
import { createObjectStore, type ObjectStore, type PutCondition } from '../../infra/object-store/object-store';
import { ARCHIVE_PREFIX, parseArchiveKey } from '../../schemas/archive-layout';

const DAY = 86_400_000;
const TOPIC_ID = 'topic-a';
const msg = (offset: number): KafkaMessage =>
  ({
    offset: String(offset),
    key: null,
    value: Buffer.from(
      JSON.stringify({ event_id: `e${offset}`, app_id: 'a', type: 'launch', ts: Date.UTC(2026, 0, 1) + (offset % 2) * DAY, device_id: 'd' }),
    ),
    timestamp: '0',
    attributes: 0,
    headers: {},
  }) as KafkaMessage;
const msgs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));

/** A store whose writes (plain or conditional) first await `before(n)`, n counting from 1. */
function interceptedStore(inner: ObjectStore, before: (n: number) => Promise<void>): ObjectStore {
  let writes = 0;
  return Object.assign(Object.create(inner) as ObjectStore, {
    put: async (key: string, body: Uint8Array) => {
      await before(++writes);
      return inner.put(key, body);
    },
    putIf: async (key: string, body: Uint8Array, condition: PutCondition) => {
      await before(++writes);
      return inner.putIf(key, body, condition);
    },
  });
}

/** A store that fails the n-th write, as a process dying at that write would. */
function failingStore(inner: ObjectStore, failAtPut: number): ObjectStore {
  return interceptedStore(inner, async (n) => {
    if (n === failAtPut) throw new Error('crash');
  });
}

async function offsetsInArchive(store: ObjectStore): Promise<number[]> {
  const out: number[] = [];
  for (const key of await store.list(ARCHIVE_PREFIX)) {
    expect(parseArchiveKey(key)).toBeDefined();
    const t = tableFromIPC(await store.get(key));
    out.push(...Array.from(t.getChild('kafka_offset')?.toArray() as BigInt64Array, Number));
  }
  return out.sort((a, b) => a - b);
}

async function waitForState(store: ObjectStore, partition: number, until: (s: PartitionState) => boolean): Promise<void> {
  for (;;) {
    const buf = await store.get(`_state/archiver/events-p${partition}.json`);
    if (buf && until(JSON.parse(buf.toString()) as PartitionState)) return;
    await new Promise((r) => setImmediate(r));
  }
}

describe('PartitionArchiver', () => {
  let dir: string;
  let store: ObjectStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archiver-unit-'));
    store = createObjectStore(`file://${dir}`);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes one file per event date named after the offset range', async () => {
    const a = new PartitionArchiver(store, 3, TOPIC_ID);
    const r = await a.archive(msgs(0, 9));
    expect(r.commit).toBe(10);
    expect(r.files.map((f) => f.key).sort()).toEqual([
      'events/dt=2026-01-01/events-p3-00000000000000000000-00000000000000000009.arrow',
      'events/dt=2026-01-02/events-p3-00000000000000000000-00000000000000000009.arrow',
    ]);
    expect(await offsetsInArchive(store)).toEqual(msgs(0, 9).map((m) => Number(m.offset)));
  });

  it('skips offsets already archived when Kafka redelivers them', async () => {
    await new PartitionArchiver(store, 0, TOPIC_ID).archive(msgs(0, 9));
    const again = new PartitionArchiver(store, 0, TOPIC_ID);
    const r = await again.archive(msgs(5, 14));
    expect(r.files.every((f) => f.key.includes('00000000000000000010-00000000000000000014'))).toBe(true);
    expect(await offsetsInArchive(store)).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it('refuses the state write of a member that lost the partition, keeping the new owner\'s progress', async () => {
    const stale = new PartitionArchiver(store, 2, TOPIC_ID);
    await stale.archive(msgs(0, 9));
    // The stale member stalls past its session; the new owner archives 10..19.
    const owner = new PartitionArchiver(store, 2, TOPIC_ID);
    await owner.archive(msgs(10, 19));
    // Back, the stale member would put {next: 10, pending: 10..14} over {next: 20}: refused.
    await expect(stale.archive(msgs(10, 14))).rejects.toThrow(PartitionLostError);
    expect(JSON.parse((await store.get('_state/archiver/events-p2.json'))?.toString() as string)).toEqual({ next: 20, topicId: TOPIC_ID });
    expect(await offsetsInArchive(store)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('refuses a member that stalls between its intent and its final state while the new owner moves on', async () => {
    await new PartitionArchiver(store, 4, TOPIC_ID).archive(msgs(0, 4));
    // The stale member's first file write (write #2, after the intent) hangs until released.
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    const stale = new PartitionArchiver(interceptedStore(store, (n) => (n === 2 ? stalled : Promise.resolve())), 4, TOPIC_ID);
    const staleRun = stale.archive(msgs(5, 19));
    await waitForState(store, 4, (st) => st.pending !== undefined);
    // The new owner redoes the pending range 5..19 and goes on to 20..30.
    const owner = new PartitionArchiver(store, 4, TOPIC_ID);
    await owner.archive(msgs(5, 19));
    await owner.archive(msgs(20, 30));
    release();
    await expect(staleRun).rejects.toThrow(PartitionLostError);
    expect(JSON.parse((await store.get('_state/archiver/events-p4.json'))?.toString() as string)).toEqual({ next: 31, topicId: TOPIC_ID });
    expect(await offsetsInArchive(store)).toEqual(Array.from({ length: 31 }, (_, i) => i));
  });

  it('refuses to resume from a position stored for another topic id, saying how much it would skip', async () => {
    await new PartitionArchiver(store, 0, TOPIC_ID).archive(msgs(0, 9));
    // The topic was deleted and created again: same name, new id, offsets from 0 again.
    const recreated = new PartitionArchiver(store, 0, 'topic-b');
    const refused = recreated.archive(msgs(0, 6), 7);
    await expect(refused).rejects.toThrow(ResumeRefusedError);
    await expect(refused).rejects.toMatchObject({ skipped: 7, message: expect.stringMatching(/topic id topic-a.*now has id topic-b/) });
    expect(JSON.parse((await store.get('_state/archiver/events-p0.json'))?.toString() as string)).toEqual({ next: 10, topicId: TOPIC_ID });
  });

  it('refuses to resume from a position past the end of the log', async () => {
    await new PartitionArchiver(store, 0, TOPIC_ID).archive(msgs(0, 19));
    await expect(new PartitionArchiver(store, 0, TOPIC_ID).archive(msgs(0, 4), 5)).rejects.toMatchObject({ skipped: 5, message: expect.stringMatching(/offset 20, past the end of the log \(5\)/) });
    // At the end exactly is fine: nothing new yet.
    expect((await new PartitionArchiver(store, 0, TOPIC_ID).archive(msgs(15, 19), 20)).archived).toBe(0);
  });

  it('adopts a state written before topic ids were stored, and stores the id from then on', async () => {
    await store.put('_state/archiver/events-p0.json', Buffer.from(JSON.stringify({ next: 5 })));
    const r = await new PartitionArchiver(store, 0, TOPIC_ID).archive(msgs(0, 9), 10);
    expect(r.commit).toBe(10);
    expect(JSON.parse((await store.get('_state/archiver/events-p0.json'))?.toString() as string)).toEqual({ next: 10, topicId: TOPIC_ID });
  });

  // A crash at each write: the intent, the first file, the second file, the final state.
  it.each([1, 2, 3, 4])('after a crash at put #%i the next owner redoes exactly the same range', async (failAt) => {
    await new PartitionArchiver(store, 1, TOPIC_ID).archive(msgs(0, 4));
    const crashing = new PartitionArchiver(failingStore(store, failAt), 1, TOPIC_ID);
    await expect(crashing.archive(msgs(5, 19))).rejects.toThrow('crash');
    // The new owner's fetches are split differently: 5..9, then 10..30.
    const next = new PartitionArchiver(store, 1, TOPIC_ID);
    await next.archive(msgs(0, 9));
    const r = await next.archive(msgs(10, 30));
    expect(r.commit).toBe(31);
    const offsets = await offsetsInArchive(store);
    expect(offsets).toEqual(Array.from({ length: 31 }, (_, i) => i));
    const ranges = (await store.list(ARCHIVE_PREFIX)).map((k) => parseArchiveKey(k)).map((f) => `${f?.first}-${f?.last}`);
    expect(new Set(ranges)).toEqual(new Set(failAt === 1 ? ['0-4', '5-9', '10-30'] : ['0-4', '5-19', '20-30']));
  });
});
