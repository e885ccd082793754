/**
 * Retention (DESIGN.md section 5): a day's speed views are dropped SPEED_RETENTION_DAYS after
 * batch covered it, and its drift then says "expired"; with ARCHIVE_RETENTION_DAYS the archive's
 * older days are deleted, each pass from where the last stopped. Real embedded ClickHouse and
 * a real file:// archive.
 */
import { expireArchive } from '../../batch-layer/archive-retention';
import { measureDrift } from '../../batch-layer/drift';
import { expireSpeedDays } from '../../batch-layer/speed-retention';
import { queryRows } from '../../infra/clickhouse/client';
import { ARCHIVE_PREFIX } from '../../schemas/archive-layout';
import { appendToArchive, archived, openBatchTestEnv, type BatchTestEnv } from './batch-test-kit';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-20T12:00:00Z');

let env: BatchTestEnv;

beforeAll(async () => {
  env = await openBatchTestEnv();
});

afterAll(async () => {
  await env?.close();
});

const speedRows = async (day: string) =>
  Number((await queryRows<{ n: string }>(env.ch, 'SELECT count() AS n FROM hourly_rt WHERE toDate(hour) = {day:Date}', { day }))[0].n);

describe('speed retention', () => {
  it('drops the speed views of days covered SPEED_RETENTION_DAYS ago, once, and drift says expired', async () => {
    for (const day of ['2026-06-01', '2026-06-18']) {
      await env.ch.command({
        query: `INSERT INTO hourly_rt SELECT 'app1', toDateTime({day:String}, 'UTC') + 3600, 'launch', '', '', '', '', '', '', '', '', '', '', toUInt64(3), toInt64(0), uniqExactState('d')`,
        query_params: { day },
      });
    }
    // 06-01 covered 19 days before NOW, 06-18 two days before.
    await env.ch.insert({
      table: 'batch_covered_days',
      format: 'JSONEachRow',
      values: [
        { day: '2026-06-01', run_id: 'old', covered_at: '2026-06-02 00:30:00' },
        { day: '2026-06-18', run_id: 'new', covered_at: '2026-06-19 00:30:00' },
      ],
    });
    expect(await expireSpeedDays(env.ch, 7, NOW)).toEqual(['2026-06-01']);
    expect(await speedRows('2026-06-01')).toBe(0);
    expect(await speedRows('2026-06-18')).toBe(1);
    expect(await expireSpeedDays(env.ch, 7, NOW)).toEqual([]);
    const drift = await measureDrift(env.ch, ['2026-06-01', '2026-06-18']);
    expect(drift.find((r) => r.day === '2026-06-18' && r.metric === 'events')).toMatchObject({ speed: 3, batch: 0 });
    expect(drift.filter((r) => r.day === '2026-06-01')).toEqual([]); // no batch rows (none inserted), no speed rows any more
    await env.ch.command({
      query: `INSERT INTO hourly_batch_data SELECT 'app1', toDateTime('2026-06-01 05:00:00', 'UTC'), 'launch', '', '', '', '', '', '', '', '', '', '', toUInt64(4), toInt64(0), uniqExactState('d'), 'old'`,
    });
    expect((await measureDrift(env.ch, ['2026-06-01'])).find((r) => r.metric === 'events')).toEqual({
      day: '2026-06-01',
      app_id: 'app1',
      metric: 'events',
      speed: 'expired',
      batch: 4,
      abs_diff: null,
      rel_diff: null,
    });
  });
});

describe('archive retention', () => {
  it('deletes the days older than ARCHIVE_RETENTION_DAYS, each pass from where the last stopped', async () => {
    const at = (daysAgo: number) => NOW - daysAgo * DAY;
    await appendToArchive(env.store, [40, 39, 31, 29, 2].map((d) => archived({ event_id: `e${d}`, type: 'launch', ts: at(d) })));
    const days = async () => [...new Set((await env.store.list(ARCHIVE_PREFIX)).map((k) => k.split('/')[1]))];
    expect(await expireArchive(env.store, 30, NOW)).toMatchObject({ days: 10 }); // 05-11 … 05-20
    expect(await days()).toEqual(['dt=2026-05-22', 'dt=2026-06-18']);
    expect(await expireArchive(env.store, 30, NOW)).toMatchObject({ days: 0 });
    expect(await expireArchive(env.store, 30, NOW + 3 * DAY)).toMatchObject({ days: 3 });
    expect(await days()).toEqual(['dt=2026-06-18']);
  });
});
