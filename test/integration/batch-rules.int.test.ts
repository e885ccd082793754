/**
 * The batch recompute on what the shared hand-computed fixtures (batch-fixtures.int.test.ts)
 * leave out: injection before flooding, a mapped IPv4 click address and an ip that is no
 * address, dimensions on purchase/event/error, a first install before the recompute window,
 * duplicates across days, late events and the run's input statistics; and against the
 * plain-TS reference model on the same archive, over a three-day window.
 * Runs against real embedded ClickHouse reading real Arrow archive files; no Kafka.
 */
import type { BatchRunner } from '../../batch-layer/batch-runner';
import { createRunStore } from '../../batch-layer/run-store';
import { createAppRegistry } from '../../infra/apps/app-registry';
import type { ArchivedEvent } from '../../schemas/event';
import { referenceAttributions, referenceReport } from '../reference/reports';
import { DIMENSIONS } from '../../schemas/views';
import { METRICS as REF_METRICS } from '../reference/reports';
import { appendToArchive, archived, batchAttributions, batchHourlyReport, createTestRunner, openBatchTestEnv, type BatchTestEnv } from './batch-test-kit';

const D = Date.parse('2026-01-10T00:00:00Z'); // the run's day
const H = 3_600_000;
const DAY = 86_400_000;
const GLOBAL_BLOCKLIST = ['203.0.113.0/24'];

let env: BatchTestEnv;
let runner: BatchRunner;
let rows: ArchivedEvent[] = [];

/** Scenario builder: every scenario gets its own device (and network) so none interfere. */
function scenario(name: string) {
  const device = `dev-${name}`;
  const net = { ip: `198.18.${rows.length % 250}.${(rows.length >> 8) % 250}`, ua: `ua-${name}` };
  const add = (e: Partial<ArchivedEvent> & Pick<ArchivedEvent, 'event_id' | 'type' | 'ts'>) => {
    const row = archived({ app_id: 'app1', device_id: device, ...e, event_id: `${name}-${e.event_id}` });
    rows.push(row);
    return row;
  };
  return {
    device,
    net,
    click: (id: string, ts: number, o: Partial<ArchivedEvent> = {}) => add({ event_id: id, type: 'click', ts, channel: `ch-${id}`, campaign_id: `cmp-${id}`, ...o }),
    install: (id: string, ts: number, o: Partial<ArchivedEvent> = {}) => add({ event_id: id, type: 'install', ts, ...o }),
    event: (id: string, type: ArchivedEvent['type'], ts: number, o: Partial<ArchivedEvent> = {}) => add({ event_id: id, type, ts, ...o }),
  };
}

const T = D + 12 * H; // install time of most scenarios

function buildScenarios(): void {
  // Fraud, in order: injection (CTIT 9 999 ms) before flooding (26 device clicks in 24 h).
  const inj = scenario('inj');
  for (let i = 0; i < 25; i++) inj.click(`f${String(i).padStart(2, '0')}`, T - H + i);
  inj.click('last', T - 9_999);
  inj.install('install', T);
  // Blocked IP: an IPv4-mapped click address in the global list; an install ip that is no
  // address is never blocked (and a click just outside the /24 is not either).
  const bMapped = scenario('blk-mapped');
  bMapped.click('c', T - H, { ip: '::ffff:203.0.113.77' });
  bMapped.install('install', T);
  const bNot = scenario('blk-not');
  bNot.click('c', T - H, { ip: '203.0.114.1' });
  bNot.install('install', T, { ip: 'not-an-ip' });
  // First install by (ts, event_id) in byte order; the others are reinstalls; derived dims.
  const life = scenario('life');
  life.event('launch-before', 'launch', T - 2 * H);
  life.click('c', T - 3 * H, { channel: 'meta', campaign_id: 'spring' });
  life.install('B', T);
  life.install('a', T); // same ts, 'a' > 'B': a reinstall
  life.install('later', T + H);
  life.event('launch', 'launch', T + 2 * H);
  life.event('buy', 'purchase', T + 3 * H, { revenue_micros: 1_990_000, currency: 'EUR', name: 'ignored' });
  life.event('lvl', 'event', T + 3 * H, { name: 'level_up', currency: 'ignored' });
  life.event('crash', 'error', T + 4 * H, { error_type: 'NPE', error_message: 'x' });
  life.event('imp', 'impression', T + 5 * H, { channel: 'tiktok', campaign_id: 'c9' });
  // First install before the window (day − 3, covered by an earlier run): its decision, as
  // that run left it, still drives later events.
  const old = scenario('old');
  old.click('c', D - 4 * DAY, { channel: 'google', campaign_id: 'old-c' });
  old.install('install', D - 3 * DAY);
  old.event('launch', 'launch', T);
  // Duplicates: the earliest received copy wins even from another day; then lower partition.
  const dup = scenario('dup');
  dup.event('x', 'purchase', T, { received_at: T + 5_000, revenue_micros: 1_000_000, currency: 'USD' });
  dup.event('x', 'purchase', D - DAY + H, { received_at: T + 1_000, revenue_micros: 2_000_000, currency: 'USD' }); // wins, day before
  dup.event('y', 'launch', T, { received_at: T + 1_000, kafka_partition: 1 });
  dup.event('y', 'launch', T + H, { received_at: T + 1_000, kafka_partition: 0 }); // wins: lower partition
  // A late event: received two days after its day ended.
  scenario('late').event('l', 'launch', T, { received_at: D + 3 * DAY });
}

const SETTINGS = { globalBlocklist: GLOBAL_BLOCKLIST, defaultLookbackDays: 7 };

beforeAll(async () => {
  env = await openBatchTestEnv();
  const apps = createAppRegistry(env.ch, { defaultLookbackDays: 7 });
  await apps.create('app1', {});
  apps.close();
  buildScenarios();
  rows = await appendToArchive(env.store, rows);
  runner = createTestRunner(env, { owner: 'rules-test', ipBlocklist: GLOBAL_BLOCKLIST });
});

afterAll(async () => {
  await runner?.stop();
  await env?.close();
});

describe('batch recompute rules', () => {
  let attributions: Awaited<ReturnType<typeof batchAttributions>>;
  const byInstall = (id: string) => attributions.find((a) => a.install_event_id === id);

  beforeAll(async () => {
    expect(await runner.runDay('2026-01-07')).toMatchObject({ status: 'succeeded', days: ['2026-01-05', '2026-01-06', '2026-01-07'] });
    const run = await runner.runDay('2026-01-10');
    expect(run).toMatchObject({ status: 'succeeded', days: ['2026-01-08', '2026-01-09', '2026-01-10'], error: null });
    attributions = await batchAttributions(env.ch, 'app1', D - 2 * DAY, D + DAY);
  });

  it('applies the fraud rules in order; only real addresses can be blocked', () => {
    expect(byInstall('inj-install')).toMatchObject({ outcome: 'rejected', fraud_reason: 'click_injection', ctit_ms: 9_999, channel: 'ch-last' });
    expect(byInstall('blk-mapped-install')).toMatchObject({ outcome: 'rejected', fraud_reason: 'blocked_ip' });
    expect(byInstall('blk-not-install')).toMatchObject({ outcome: 'attributed', fraud_reason: null });
  });

  it('takes the smallest (ts, event_id) as the first install and derives dimensions from it', async () => {
    expect(byInstall('life-B')).toMatchObject({ outcome: 'attributed', channel: 'meta', campaign_id: 'spring' });
    expect(byInstall('life-a')).toBeUndefined();
    const report = await batchHourlyReport(env.ch, 'app1', D, D + DAY);
    const life = report.filter((r) => r.bucket >= new Date(T - 2 * H).toISOString() && ['launch', 'install', 'purchase', 'event', 'error'].includes(String(r.type)));
    const find = (type: string, hourOffset: number) => life.filter((r) => r.type === type && r.bucket === new Date(T + hourOffset * H).toISOString().replace('.000Z', 'Z'));
    expect(find('launch', -2).map((r) => [r.channel, r.campaign_id])).toContainEqual(['', '']);
    expect(find('install', 1)).toEqual([expect.objectContaining({ channel: 'meta', campaign_id: 'spring', reinstalls: 1, installs: 0 })]);
    expect(find('purchase', 3)).toEqual([expect.objectContaining({ channel: 'meta', currency: 'EUR', name: '', revenue: 1.99 })]);
    expect(find('event', 3)).toEqual([expect.objectContaining({ channel: 'meta', name: 'level_up', currency: '' })]);
    expect(find('error', 4)).toEqual([expect.objectContaining({ channel: 'meta', error_type: 'NPE' })]);
  });

  it('equals the reference model for every metric and dimension, and its attributions', async () => {
    const expected = referenceReport({ events: rows, settings: SETTINGS, appId: 'app1', granularity: 'hourly', from: D - 2 * DAY, to: D + DAY, metrics: REF_METRICS, groupBy: DIMENSIONS });
    expect(await batchHourlyReport(env.ch, 'app1', D - 2 * DAY, D + DAY)).toEqual(expected);
    expect(attributions).toEqual(referenceAttributions({ events: rows, settings: SETTINGS, appId: 'app1', from: D - 2 * DAY, to: D + DAY }));
  });

  it('records what the run read', async () => {
    const [run] = await createRunStore(env.ch).list(1);
    // Late: 'late-l', and the winning copy of 'dup-x' (its day 01-09 ended long before it arrived).
    expect(run).toMatchObject({ rows_read: rows.length, duplicates_dropped: 2, late_events: 2, input_files: expect.any(Number) });
    expect(run.input_files).toBeGreaterThan(1);
  });
});
