/**
 * What a batch run reads and how its days appear (DESIGN.md section 5, issue 15), on real
 * embedded ClickHouse reading real Arrow archive files:
 *   - a run reads the day directories its window needs, not the whole archive: rows read and
 *     files read do not grow when older history is added;
 *   - a Kafka record archived twice counts once; overlapping offset ranges fail the run;
 *   - a late install older than the recompute window is taken in by a backfill of its day, and
 *     later runs read it as the device's first install;
 *   - readers never see a run's days half switched, and a run's tables are gone afterwards.
 */
import { createRunStore } from '../../batch-layer/run-store';
import type { BatchRunner } from '../../batch-layer/batch-runner';
import { dropSupersededGenerations } from '../../batch-layer/jobs/view-generations';
import { queryRows } from '../../infra/clickhouse/client';
import { encodeArrowFile } from '../../ingest/archiver/arrow-writer';
import { archiveKey, archiverStateKey } from '../../schemas/archive-layout';
import type { ArchivedEvent } from '../../schemas/event';
import { appendToArchive, archived, batchAttributions, createTestRunner, openBatchTestEnv, type BatchTestEnv } from './batch-test-kit';

const DAY = 86_400_000;
const H = 3_600_000;
const D = Date.parse('2026-03-20T00:00:00Z'); // the window is D − 2 … D

let env: BatchTestEnv;
let runner: BatchRunner;

beforeAll(async () => {
  env = await openBatchTestEnv();
  runner = createTestRunner(env, { owner: 'read-range-test' });
});

afterAll(async () => {
  await runner?.stop();
  await env?.close();
});

async function dayTotals(): Promise<Record<string, number>> {
  const rows = await queryRows<{ day: string; events: string }>(
    env.ch,
    `SELECT toString(toDate(hour)) AS day, sum(events) AS events FROM hourly_batch WHERE app_id = 'app1' GROUP BY day ORDER BY day`,
  );
  return Object.fromEntries(rows.map((r) => [r.day, Number(r.events)]));
}

const launches = (prefix: string, from: number, n: number, stepMs: number): ArchivedEvent[] =>
  Array.from({ length: n }, (_, i) => archived({ event_id: `${prefix}-${i}`, type: 'launch', ts: from + i * stepMs, device_id: `d-${prefix}-${i % 5}` }));

describe('a batch run reads what its days need', () => {
  let firstRead: { rows_read: number; input_files: number };

  it('reads only the window, its click range and the dedup horizon around it', async () => {
    await appendToArchive(env.store, launches('w', D - 2 * DAY + H, 30, 2 * H)); // 30 events over the window
    const run = await runner.runDay('2026-03-20');
    expect(run).toMatchObject({ status: 'succeeded', days: ['2026-03-18', '2026-03-19', '2026-03-20'], rows_read: 30 });
    firstRead = { rows_read: run.rows_read, input_files: run.input_files };
    expect(await dayTotals()).toEqual({ '2026-03-18': 12, '2026-03-19': 12, '2026-03-20': 6 });
  });

  it('does not read more when years of older history lie in the archive', async () => {
    // 40 days of history, each day a file of its own, long before the window's reach.
    for (let d = 60; d < 100; d++) await appendToArchive(env.store, launches(`old${d}`, D - d * DAY, 10, H));
    const run = await runner.runDay('2026-03-20');
    expect(run).toMatchObject({ status: 'succeeded', rows_read: firstRead.rows_read, input_files: firstRead.input_files });
    expect(await dayTotals()).toEqual({ '2026-03-18': 12, '2026-03-19': 12, '2026-03-20': 6 });
  });

  it('counts a Kafka record archived twice once', async () => {
    const [rec] = await appendToArchive(env.store, [archived({ event_id: 'twice', type: 'launch', ts: D + 5 * H, kafka_partition: 3 })]);
    // The same record (same partition and offset) once more, in a file of the same range under
    // another day directory: what a retry that filed it differently would leave.
    await env.store.put(archiveKey('2026-03-19', 3, rec.kafka_offset, rec.kafka_offset), encodeArrowFile([rec]));
    const run = await runner.runDay('2026-03-20');
    expect(run).toMatchObject({ status: 'succeeded', duplicates_dropped: 0 });
    expect((await dayTotals())['2026-03-20']).toBe(7);
  });

  it('fails a run whose archive holds overlapping offset ranges of one partition, naming them', async () => {
    const rows = await appendToArchive(env.store, launches('ov', D + 6 * H, 4, 60_000).map((e) => ({ ...e, kafka_partition: 4 })));
    const first = rows[0].kafka_offset;
    // A second file of partition 4 overlapping the first range by one offset.
    await env.store.put(archiveKey('2026-03-20', 4, first + 3, first + 4), encodeArrowFile([{ ...rows[3], kafka_offset: first + 3 }]));
    await env.store.put(archiverStateKey(4), Buffer.from(JSON.stringify({ next: first + 5 })));
    const before = await dayTotals();
    const run = await runner.runDay('2026-03-20');
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/overlapping offset ranges of Kafka partition 4/);
    expect(await dayTotals()).toEqual(before);
    await env.store.delete(archiveKey('2026-03-20', 4, first + 3, first + 4));
    await env.store.put(archiverStateKey(4), Buffer.from(JSON.stringify({ next: first + 4 })));
  });

  it('leaves no table of its own behind', async () => {
    const left = await queryRows<{ name: string }>(
      env.ch,
      "SELECT name FROM system.tables WHERE database = currentDatabase() AND (name LIKE 'batch_scratch_%' OR name LIKE '%_batch_staging_%')",
    );
    expect(left).toEqual([]);
  });
});

describe('the first install before the window', () => {
  const device = 'late-installer';
  const installTs = D - 10 * DAY + 5 * H;

  it('is taken in by a backfill of its day when it arrives late, and later runs inherit its decision', async () => {
    // A click and an install 10 days before the window, archived only now (late).
    await appendToArchive(env.store, [
      archived({ event_id: 'lc', type: 'click', ts: installTs - H, device_id: device, channel: 'meta', campaign_id: 'spring', received_at: D }),
      archived({ event_id: 'li', type: 'install', ts: installTs, device_id: device, received_at: D }),
      archived({ event_id: 'li-again', type: 'install', ts: D - H, device_id: device, received_at: D }),
      archived({ event_id: 'lp', type: 'purchase', ts: D - 30 * 60_000, device_id: device, revenue_micros: 1_000_000, currency: 'USD' }),
    ]);
    // Before the backfill the window's install is the first one batch knows of.
    await runner.runDay('2026-03-20');
    expect((await batchAttributions(env.ch, 'app1', D - 2 * DAY, D + DAY)).map((a) => a.install_event_id)).toEqual(['li-again']);

    const backfill = await runner.runDay('2026-03-10', { days: ['2026-03-10'] });
    expect(backfill).toMatchObject({ status: 'succeeded', late_events: 2 });
    expect(await batchAttributions(env.ch, 'app1', installTs, installTs + 1)).toEqual([
      expect.objectContaining({ install_event_id: 'li', outcome: 'attributed', channel: 'meta', campaign_id: 'spring' }),
    ]);

    await runner.runDay('2026-03-20');
    expect(await batchAttributions(env.ch, 'app1', D - 2 * DAY, D + DAY)).toEqual([]);
    const rows = await queryRows<{ channel: string; install_kind: string; n: number }>(
      env.ch,
      `SELECT channel, install_kind, sum(events) AS n FROM hourly_batch WHERE app_id = 'app1' AND hour >= {from:DateTime('UTC')} AND type IN ('install', 'purchase')
       AND hour < {to:DateTime('UTC')} GROUP BY channel, install_kind ORDER BY install_kind`,
      { from: (D - H) / 1000, to: D / 1000 },
    );
    // The window's install is a reinstall, and it and the purchase inherit the backfilled decision.
    expect(rows).toEqual([
      { channel: 'meta', install_kind: '', n: 1 },
      { channel: 'meta', install_kind: 'reinstall', n: 1 },
    ]);
  });
});

describe('the switch to a run\'s days', () => {
  it('shows readers every day of the old run or every day of the new one, never a mix', async () => {
    const store = createRunStore(env.ch);
    const old = await dayTotals();
    await appendToArchive(env.store, [archived({ event_id: 'sw1', type: 'launch', ts: D - 2 * DAY + H }), archived({ event_id: 'sw2', type: 'launch', ts: D + H })]);
    const expectedNew = { ...old, '2026-03-18': old['2026-03-18'] + 1, '2026-03-20': old['2026-03-20'] + 1 };
    const seen: Record<string, number>[] = [];
    let done = false;
    const reader = (async () => {
      while (!done) seen.push(await dayTotals());
    })();
    const run = await runner.runDay('2026-03-20');
    done = true;
    await reader;
    expect(run.status).toBe('succeeded');
    expect(seen.length).toBeGreaterThan(3);
    for (const s of seen) expect([old, expectedNew]).toContainEqual(s);
    expect(await dayTotals()).toEqual(expectedNew);
    // Replaced generations are dropped: one (day, run) partition per day with events.
    const parts = await queryRows<{ partition: string }>(
      env.ch,
      "SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() AND active AND table = 'hourly_batch_data' AND partition LIKE '(''2026-03-2%'",
    );
    expect(parts.every((p) => p.partition.includes(run.id))).toBe(true);
    expect((await store.list(1))[0].id).toBe(run.id);
    // Once the run has finished, a later clean-up keeps the generation the days show.
    await dropSupersededGenerations(env.ch, run.days, async () => true);
    expect(await dayTotals()).toEqual(expectedNew);
  });
});
