/**
 * The speed layer's resume position is the highest offset in events_rt, so a batch's insert
 * must appear whole or not at all: one insert, one part, even when the batch spans event
 * dates (migration 006). And the migration that took the partition key away keeps the rows
 * an existing install had written under the old layout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createClickHouse, queryRows, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';

const MIGRATIONS = path.join(__dirname, '../../infra/clickhouse/migrations');

let dir: string;
let handle: ClickHouseHandle;

beforeAll(() => {
  dir = makeScratchDir('weir-events-rt-parts');
  handle = createClickHouse({ dataDir: dir, clickhouse: { url: undefined, database: 'weir' } });
});

afterAll(async () => {
  await handle.close();
  removeScratchDir(dir);
});

const insertRows = (offsets: { offset: number; ts: string }[]) =>
  handle.client.command({
    query: `INSERT INTO events_rt (app_id, event_id, ts, received_at, device_id, type, kafka_partition, kafka_offset) VALUES ${offsets
      .map((o) => `('app', 'e${o.offset}', '${o.ts}', '${o.ts}', 'dev', 'session_start', 0, ${o.offset})`)
      .join(', ')}`,
  });

const activeParts = async () => Number((await queryRows<{ n: string }>(handle.client, "SELECT count() AS n FROM system.parts WHERE table = 'events_rt' AND active"))[0].n);

it('keeps the rows written before migration 006 and then writes a two-date batch as one part', async () => {
  // An install as it was before 006: migrations up to 005 only.
  const before = makeScratchDir('weir-migrations-005');
  for (const f of fs.readdirSync(MIGRATIONS).filter((f) => f < '006')) fs.copyFileSync(path.join(MIGRATIONS, f), path.join(before, f));
  await migrate(handle.client, { dir: before });
  await insertRows([
    { offset: 0, ts: '2026-11-22 23:59:59.999' },
    { offset: 1, ts: '2026-11-23 00:00:00.000' },
  ]);
  removeScratchDir(before);

  expect(await migrate(handle.client)).toContain('006-events-rt-one-part-per-insert');
  const kept = await queryRows<{ kafka_offset: string; ts: string }>(handle.client, 'SELECT kafka_offset, toString(ts) AS ts FROM events_rt ORDER BY kafka_offset');
  expect(kept).toEqual([
    { kafka_offset: 0, ts: '2026-11-22 23:59:59.999' },
    { kafka_offset: 1, ts: '2026-11-23 00:00:00.000' },
  ]);

  const parts = await activeParts();
  await insertRows([
    { offset: 2, ts: '2026-11-23 23:59:59.999' },
    { offset: 3, ts: '2026-11-24 00:00:00.000' },
  ]);
  expect(await activeParts()).toBe(parts + 1);
});
