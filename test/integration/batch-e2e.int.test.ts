/**
 * End to end: generated traffic (duplicates, late events, fraud) through the collector and
 * the archiver of a running weir, a batch run requested on the admin API, and the batch
 * views equal test/reference's answers computed from the archived (stored, corrected)
 * events, for every metric and dimension and every first install.
 */
import { createClickHouse, type ClickHouseClient } from '../../infra/clickhouse/client';
import { generateEvents, FRAUD_CIDRS } from '../../ingest/load-generator/generate-events';
import { sendEvents } from '../../ingest/load-generator/send-events';
import type { ArchivedEvent } from '../../schemas/event';
import { readArchive } from '../support/archive-reader';
import { DIMENSIONS } from '../../schemas/views';
import { METRICS, referenceAttributions, referenceReport } from '../reference/reports';
import { createTestApp, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { batchAttributions, batchHourlyReport, snapshotViews } from './batch-test-kit';
import type { Run } from '../../batch-layer/run-types';

const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY) * DAY;
// The run's days lie before the window of the start-up catch-up run (yesterday − 2 … yesterday).
const RUN_DAY = new Date(today - 4 * DAY).toISOString().slice(0, 10);
// The days before the window (the traffic starts 8 days ago) are covered first: rule 1 reads
// their first installs from the state that run leaves (DESIGN.md section 5).
const EARLIER_RUN_DAY = new Date(today - 7 * DAY).toISOString().slice(0, 10);
const WINDOW_FROM = today - 6 * DAY;
const WINDOW_TO = today - 3 * DAY;
const APP_BLOCKLIST = [FRAUD_CIDRS[2]];
const GLOBAL_BLOCKLIST = FRAUD_CIDRS.slice(0, 2);

let stack: TestStack;
let ch: ClickHouseClient;
let appId: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON answers
async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Requests a run of `day` (waiting out the start-up run if it still overlaps) and waits for it. */
async function runBatch(day = RUN_DAY): Promise<Run> {
  const accepted = await waitFor(async () => {
    const r = await admin('POST', '/v1/admin/batch/runs', { day });
    if (r.status === 409) return undefined;
    expect(r.status).toBe(202);
    return r.json.run as Run;
  }, { timeoutMs: 60_000, what: 'run accepted' });
  return waitFor(async () => {
    const r = await admin('GET', `/v1/admin/batch/runs/${accepted.id}`);
    return ['succeeded', 'failed'].includes(r.json.status) ? (r.json as Run) : undefined;
  }, { timeoutMs: 120_000, intervalMs: 250, what: 'run finished' });
}

beforeAll(async () => {
  stack = await startTestStack({ env: { IP_BLOCKLIST: GLOBAL_BLOCKLIST.join(',') } });
  // A second connection to the stack's own chdb directory (one directory per process).
  ch = createClickHouse(stack.cfg).client;
  const app = await createTestApp(stack, { app_id: `batch-e2e-${Date.now() % 100000}`, ip_blocklist: APP_BLOCKLIST });
  appId = app.app_id;
  const sent = await sendEvents(
    generateEvents({ seed: 42, startMs: today - 8 * DAY, endMs: today - 2 * DAY, apps: [appId], events: 4000, lateFraction: 0.05, duplicateFraction: 0.05, fraudFraction: 0.1 }),
    { url: stack.url, keys: { [appId]: app.write_key }, batchSize: 200, concurrency: 4 },
  );
  expect(sent.failedBatches).toBe(0);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('batch layer end to end', () => {
  let first: Run;
  let events: ArchivedEvent[];
  const settings = () => ({ apps: { [appId]: { ipBlocklist: APP_BLOCKLIST } }, globalBlocklist: GLOBAL_BLOCKLIST, defaultLookbackDays: 7 });

  beforeAll(async () => {
    expect(await runBatch(EARLIER_RUN_DAY)).toMatchObject({ status: 'succeeded' });
    first = await runBatch();
    events = await readArchive(stack.cfg.objectStore.url);
  }, 240_000);

  it('succeeds after the archive caught up, and records what it read', () => {
    expect(first).toMatchObject({ status: 'succeeded', error: null, days: [WINDOW_FROM, WINDOW_FROM + DAY, WINDOW_FROM + 2 * DAY].map((d) => new Date(d).toISOString().slice(0, 10)) });
    expect(first.rows_read).toBe(events.length);
    expect(first.duplicates_dropped).toBeGreaterThan(0);
    expect(first.late_events).toBeGreaterThan(0);
    expect(first.attribution_diff).toEqual(expect.objectContaining({ compared: expect.any(Number) }));
    expect(first.drift?.length).toBeGreaterThan(0);
  });

  it('equals the reference for every metric and dimension, hour by hour, and every first install', async () => {
    const report = await batchHourlyReport(ch, appId, WINDOW_FROM, WINDOW_TO);
    const expected = referenceReport({ events, settings: settings(), appId, granularity: 'hourly', from: WINDOW_FROM, to: WINDOW_TO, metrics: METRICS, groupBy: DIMENSIONS });
    expect(expected.length).toBeGreaterThan(100);
    expect(report).toEqual(expected);
    expect(await batchAttributions(ch, appId, WINDOW_FROM, WINDOW_TO)).toEqual(referenceAttributions({ events, settings: settings(), appId, from: WINDOW_FROM, to: WINDOW_TO }));
    const reasons = new Set((await batchAttributions(ch, appId, WINDOW_FROM, WINDOW_TO)).map((a) => a.fraud_reason));
    expect(reasons).toEqual(new Set([null, 'click_injection', 'click_flooding', 'blocked_ip']));
  });

  it('gives identical views when the day runs again, and covers its days', async () => {
    const before = await snapshotViews(ch);
    const again = await runBatch();
    expect(again.status).toBe('succeeded');
    expect(await snapshotViews(ch)).toEqual(before);
    const boundary = await admin('GET', '/v1/admin/boundary');
    expect(boundary.json.covered_days).toEqual(expect.arrayContaining(first.days));
  });
});
