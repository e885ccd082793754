/**
 * Compaction of a closed day's archive files (batch-layer/jobs/compact-archive.ts), on a real
 * file:// archive read by real embedded ClickHouse: a process compacting the day is killed
 * with SIGKILL after each of its steps, and after every kill the batch layer still reads each
 * Kafka record exactly once, with its content unchanged; a finished compaction leaves one
 * ZSTD file per partition, and a batch run merges late files into it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { takeArchiveSnapshot } from '../../batch-layer/archive-snapshot';
import { compactDay } from '../../batch-layer/jobs/compact-archive';
import { pinnedSource } from '../../batch-layer/jobs/archive-source';
import { queryRows } from '../../infra/clickhouse/client';
import { datePrefix } from '../../schemas/archive-layout';
import type { ArchivedEvent } from '../../schemas/event';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';
import { appendToArchive, archived, createTestRunner, openBatchTestEnv, snapshotViews, type BatchTestEnv } from './batch-test-kit';

const DAY = '2026-05-04';
const D = Date.parse(`${DAY}T00:00:00Z`);
const H = 3_600_000;
const REPO_ROOT = path.resolve(__dirname, '..', '..');

let env: BatchTestEnv;
const written: ArchivedEvent[] = [];
let batch = 0;

beforeAll(async () => {
  env = await openBatchTestEnv();
});

afterAll(async () => {
  await env?.close();
});

/** A few more small files of the day in partitions 0 and 1 (and one row of the next day). */
async function archiveMore(): Promise<void> {
  batch += 1;
  const rows: ArchivedEvent[] = [];
  for (let i = 0; i < 20; i++) {
    rows.push(
      archived({
        event_id: `b${batch}-${i}`,
        type: i % 4 === 0 ? 'click' : 'launch',
        ts: D + (batch * 20 + i) * 60_000,
        device_id: `dev-${i % 7}`,
        channel: i % 4 === 0 ? 'meta' : '',
        kafka_partition: i % 2,
      }),
    );
  }
  rows.push(archived({ event_id: `next-${batch}`, type: 'launch', ts: D + 30 * H, kafka_partition: 0 }));
  for (const part of [rows.slice(0, 11), rows.slice(11)]) written.push(...(await appendToArchive(env.store, part)));
}

/** Every record of the day as the batch layer reads it: position → row, failing on a record read twice. */
async function readDay(day = DAY): Promise<Map<string, string>> {
  const snapshot = await takeArchiveSnapshot(env.store, [day]);
  const source = await pinnedSource(env.ch, env.store, snapshot.files);
  const rows = await queryRows<{ pos: string; row: string }>(
    env.ch,
    `SELECT concat(toString(kafka_partition), ':', toString(kafka_offset)) AS pos, toString(tuple(* EXCEPT file_hash)) AS row FROM ${source.sql}`,
    source.params,
  );
  const out = new Map<string, string>();
  for (const r of rows) {
    expect(out.has(r.pos)).toBe(false);
    out.set(r.pos, r.row);
  }
  return out;
}

const expectedPositions = () =>
  written
    .filter((e) => e.ts < D + 24 * H)
    .map((e) => `${e.kafka_partition}:${e.kafka_offset}`)
    .sort();

async function compactInChild(killAfter: string): Promise<number | null> {
  const chDir = makeScratchDir('weir-compaction-child');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/support/compaction-child.ts'), path.join(env.dir, 'archive'), chDir, DAY, killAfter], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    return signal === 'SIGKILL' ? null : code;
  } finally {
    removeScratchDir(chDir);
  }
}

describe('archive compaction', () => {
  let before: Map<string, string>;

  it.each(['written', 'renamed', 'deleted'])('leaves every record read exactly once when killed after the %s step', async (step) => {
    await archiveMore();
    before = await readDay();
    expect([...before.keys()].sort()).toEqual(expectedPositions());
    expect(await compactInChild(step)).toBeNull(); // killed
    expect(await readDay()).toEqual(before);
  });

  it('finishes: one ZSTD file per partition, the same records, no temporary objects', async () => {
    expect(await compactInChild('none')).toBe(0);
    const files = (await env.store.list(datePrefix(DAY))).filter((k) => k.endsWith('.arrow'));
    expect(files.map((k) => k.replace(/-\d{20}-\d{20}\.arrow$/, ''))).toEqual([`events/dt=${DAY}/events-p0`, `events/dt=${DAY}/events-p1`]);
    expect(await readDay()).toEqual(before);
    expect(await env.store.list('_tmp/')).toEqual([]);
    // Again: nothing left to do.
    expect(await compactDay(env.ch, env.store, DAY)).toMatchObject({ partitions: 0, filesBefore: 2, filesAfter: 2 });
  });

  it('compacts a day of one-row files (their dictionary columns rebuilt, readable again)', async () => {
    const next = '2026-05-05';
    const rows = await readDay(next);
    expect(rows.size).toBe(batch);
    expect(await compactDay(env.ch, env.store, next)).toMatchObject({ partitions: 1 });
    expect(await readDay(next)).toEqual(rows);
  });

  it('merges late files into the compacted one when a batch run covers the day', async () => {
    const runner = createTestRunner(env, { owner: 'compaction-test' });
    try {
      await archiveMore(); // late: new small files above the compacted ranges
      expect(await runner.runDay(DAY, { days: [DAY] })).toMatchObject({ status: 'succeeded' }); // compacts, then recomputes
      const views = await snapshotViews(env.ch);
      expect((await env.store.list(datePrefix(DAY))).length).toBe(2);
      expect([...(await readDay()).keys()].sort()).toEqual(expectedPositions());
      expect(await runner.runDay(DAY, { days: [DAY] })).toMatchObject({ status: 'succeeded' });
      expect(await snapshotViews(env.ch)).toEqual(views);
    } finally {
      await runner.stop();
    }
  });
});
