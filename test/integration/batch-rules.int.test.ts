/**
 * The batch recompute against hand-computed outcomes of the rules of DESIGN.md sections 3–5
 * (dedup, first install, last click, lookback, probabilistic match, fraud rules in order,
 * derived dimensions), and against the plain-TS reference model on the same archive.
 * Runs against real embedded ClickHouse reading real Arrow archive files; no Kafka.
 */
import { pino } from 'pino';
import { createBatchRunner, type BatchRunner } from '../../batch-layer/batch-runner';
import { createRunLease } from '../../batch-layer/run-lease';
import { createRunStore } from '../../batch-layer/run-store';
import { createAppRegistry } from '../../infra/apps/app-registry';
import type { ArchivedEvent } from '../../schemas/event';
import { referenceAttributions, referenceReport } from '../reference/reports';
import { DIMENSIONS } from '../../schemas/views';
import { METRICS as REF_METRICS } from '../reference/reports';
import { appendToArchive, archived, batchAttributions, batchHourlyReport, openBatchTestEnv, type BatchTestEnv } from './batch-test-kit';

const D = Date.parse('2026-01-10T00:00:00Z'); // the run's day
const H = 3_600_000;
const DAY = 86_400_000;
const GLOBAL_BLOCKLIST = ['203.0.113.0/24'];
const APP2_BLOCKLIST = ['2001:db8:bad::/48'];

let env: BatchTestEnv;
let runner: BatchRunner;
let rows: ArchivedEvent[] = [];

/** Scenario builder: every scenario gets its own device (and network) so none interfere. */
function scenario(name: string, app = 'app1') {
  const device = `dev-${name}`;
  const net = { ip: `198.18.${rows.length % 250}.${(rows.length >> 8) % 250}`, ua: `ua-${name}` };
  const add = (e: Partial<ArchivedEvent> & Pick<ArchivedEvent, 'event_id' | 'type' | 'ts'>) => {
    const row = archived({ app_id: app, device_id: device, ...e, event_id: `${name}-${e.event_id}` });
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
  // Last click wins; equal ts goes to the greater event_id in byte order ('a' > 'B').
  const tie = scenario('tie');
  tie.click('old', T - 5 * H);
  tie.click('B', T - H);
  tie.click('a', T - H);
  tie.install('install', T);
  // Lookback (default 7 days): exactly 7 days matches, 1 ms more does not.
  scenario('lb-edge').click('c', T - 7 * DAY);
  rows[rows.length - 1].device_id = 'dev-lb-edge';
  scenario('lb-edge').install('install', T);
  const out = scenario('lb-out');
  out.click('c', T - 7 * DAY - 1);
  out.install('install', T);
  // app2 has lookback_days = 1: a click 2 days back is out of its window.
  const short = scenario('lb-app', 'app2');
  short.click('c', T - 2 * DAY);
  short.install('install', T);
  // A click after the install never counts; a click at the install's ms is injection.
  const after = scenario('after');
  after.click('c', T + 1);
  after.install('install', T);
  // Probabilistic: same ip + ua on another device within 24 h; not at 24 h + 1 ms; not without ua.
  const pClick = scenario('p-click');
  pClick.click('c', T - 2 * H, { ip: '198.51.100.200', ua: 'UA-P' });
  scenario('p-install').install('install', T, { ip: '198.51.100.200', ua: 'UA-P' });
  const pFar = scenario('p-far-click');
  pFar.click('c', T - DAY - 1, { ip: '192.0.2.7', ua: 'UA-F' });
  scenario('p-far').install('install', T, { ip: '192.0.2.7', ua: 'UA-F' });
  scenario('p-noua').install('install', T, { ip: '198.51.100.200', ua: '' });
  // Fraud, in order: injection (CTIT 9 999 ms) before flooding; 10 000 ms is no injection.
  const inj = scenario('inj');
  for (let i = 0; i < 25; i++) inj.click(`f${String(i).padStart(2, '0')}`, T - H + i);
  inj.click('last', T - 9_999);
  inj.install('install', T);
  const noInj = scenario('no-inj');
  noInj.click('c', T - 10_000);
  noInj.install('install', T);
  // Flooding: 21 clicks in [t − 24 h, t] rejects, 20 do not (one more just outside 24 h).
  const flood = scenario('flood');
  for (let i = 0; i < 21; i++) flood.click(`c${String(i).padStart(2, '0')}`, T - DAY + i * H);
  flood.install('install', T);
  const noFlood = scenario('no-flood');
  noFlood.click('outside', T - DAY - 1);
  for (let i = 0; i < 20; i++) noFlood.click(`c${String(i).padStart(2, '0')}`, T - DAY + i * H);
  noFlood.install('install', T);
  // Blocked IP: the click's (global list), the install's (app's own IPv6 list), IPv4-mapped.
  const bClick = scenario('blk-click');
  bClick.click('c', T - H, { ip: '203.0.113.9' });
  bClick.install('install', T, { ip: '192.0.2.1' });
  const bInst = scenario('blk-inst', 'app2');
  bInst.click('c', T - 10 * H, { ip: '192.0.2.1' });
  bInst.install('install', T, { ip: '2001:db8:bad::42' });
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
  // Rejected first install: the install row carries its click's channel; later events ''.
  const rej = scenario('rej');
  rej.click('c', T - 1_000, { channel: 'fraudnet', campaign_id: 'bad' });
  rej.install('install', T);
  rej.event('launch', 'launch', T + H);
  // Organic: 'organic' / '' for the install and what follows.
  const org = scenario('org');
  org.install('install', T);
  org.event('launch', 'launch', T + H);
  // First install before the window (day − 3): its decision still drives later events.
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

const SETTINGS = {
  apps: { app2: { lookbackDays: 1, ipBlocklist: APP2_BLOCKLIST } },
  globalBlocklist: GLOBAL_BLOCKLIST,
  defaultLookbackDays: 7,
};

beforeAll(async () => {
  env = await openBatchTestEnv();
  const apps = createAppRegistry(env.ch, { defaultLookbackDays: 7 });
  await apps.create('app1', {});
  await apps.create('app2', { lookback_days: 1, ip_blocklist: APP2_BLOCKLIST });
  apps.close();
  buildScenarios();
  rows = await appendToArchive(env.store, rows);
  const runs = createRunStore(env.ch);
  runner = createBatchRunner(
    { recomputeDays: 2, graceMinutes: 15, ipBlocklist: GLOBAL_BLOCKLIST, lookbackDays: 7, catchUpTimeoutMs: 5_000 },
    {
      ch: env.ch,
      store: env.store,
      runs,
      lease: createRunLease(env.ch, { holder: 'rules-test', settleMs: 20, retryMs: 50 }),
      watermarks: async () => ({}),
      owner: 'rules-test',
      log: pino({ level: 'silent' }),
    },
  );
});

afterAll(async () => {
  await runner?.stop();
  await env?.close();
});

describe('batch recompute rules', () => {
  let attributions: Awaited<ReturnType<typeof batchAttributions>>;
  const byInstall = (id: string) => attributions.find((a) => a.install_event_id === id);

  beforeAll(async () => {
    const run = await runner.runDay('2026-01-10');
    expect(run).toMatchObject({ status: 'succeeded', days: ['2026-01-08', '2026-01-09', '2026-01-10'], error: null });
    attributions = [...(await batchAttributions(env.ch, 'app1')), ...(await batchAttributions(env.ch, 'app2'))];
  });

  it('attributes to the last click, ties on ts to the greater event_id in byte order', () => {
    expect(byInstall('tie-install')).toMatchObject({ outcome: 'attributed', match: 'device', click_event_id: 'tie-a', ctit_ms: H, channel: 'ch-a' });
  });

  it('matches a click exactly at the lookback and not 1 ms beyond; per-app lookback', () => {
    expect(byInstall('lb-edge-install')).toMatchObject({ outcome: 'attributed', click_event_id: 'lb-edge-c', ctit_ms: 7 * DAY });
    expect(byInstall('lb-out-install')).toMatchObject({ outcome: 'organic', match: null, click_event_id: null, channel: 'organic', campaign_id: '', ctit_ms: null });
    expect(byInstall('lb-app-install')).toMatchObject({ outcome: 'organic' });
    expect(byInstall('after-install')).toMatchObject({ outcome: 'organic' });
  });

  it('falls back to a probabilistic match on ip and ua within 24 h', () => {
    expect(byInstall('p-install-install')).toMatchObject({ outcome: 'attributed', match: 'probabilistic', click_event_id: 'p-click-c', ctit_ms: 2 * H });
    expect(byInstall('p-far-install')).toMatchObject({ outcome: 'organic' });
    expect(byInstall('p-noua-install')).toMatchObject({ outcome: 'organic' });
  });

  it('applies the fraud rules in order', () => {
    expect(byInstall('inj-install')).toMatchObject({ outcome: 'rejected', fraud_reason: 'click_injection', ctit_ms: 9_999, channel: 'ch-last' });
    expect(byInstall('no-inj-install')).toMatchObject({ outcome: 'attributed', fraud_reason: null, ctit_ms: 10_000 });
    expect(byInstall('flood-install')).toMatchObject({ outcome: 'rejected', fraud_reason: 'click_flooding' });
    expect(byInstall('no-flood-install')).toMatchObject({ outcome: 'attributed', fraud_reason: null });
    expect(byInstall('blk-click-install')).toMatchObject({ outcome: 'rejected', fraud_reason: 'blocked_ip' });
    expect(byInstall('blk-inst-install')).toMatchObject({ outcome: 'rejected', fraud_reason: 'blocked_ip' });
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
    const rejected = report.filter((r) => r.fraud_reason === 'click_injection' && r.channel === 'fraudnet');
    expect(rejected).toEqual([expect.objectContaining({ rejected_installs: 1, campaign_id: 'bad' })]);
  });

  it('equals the reference model for every metric and dimension, and its attributions', async () => {
    for (const app of ['app1', 'app2']) {
      const expected = referenceReport({ events: rows, settings: SETTINGS, appId: app, granularity: 'hourly', from: D - 2 * DAY, to: D + DAY, metrics: REF_METRICS, groupBy: DIMENSIONS });
      expect(await batchHourlyReport(env.ch, app, D - 30 * DAY, D + 30 * DAY)).toEqual(expected);
      expect(await batchAttributions(env.ch, app)).toEqual(referenceAttributions({ events: rows, settings: SETTINGS, appId: app, from: D - 2 * DAY, to: D + DAY }));
    }
  });

  it('records what the run read', async () => {
    const [run] = await createRunStore(env.ch).list(1);
    // Late: 'late-l', and the winning copy of 'dup-x' (its day 01-09 ended long before it arrived).
    expect(run).toMatchObject({ rows_read: rows.length, duplicates_dropped: 2, late_events: 2, input_files: expect.any(Number) });
    expect(run.input_files).toBeGreaterThan(1);
  });
});
