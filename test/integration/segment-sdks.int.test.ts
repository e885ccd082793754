/**
 * The real server-side SDKs from npm, `@segment/analytics-node` and
 * `@rudderstack/rudder-sdk-node`, pointed at a running weir (every role) by their `host`
 * setting, in the realistic mix: an ad network posts clicks to `/v1/events`, the apps send
 * through the SDKs. After a batch run of the day:
 * - "Application Installed" installs are attributed to the ad network's clicks, "Order
 *   Completed" revenue and screens reach the reports;
 * - a flush whose response is lost on the way back (the SDK sends the same messages again)
 *   counts once, though the log holds both copies;
 * - identify, group and alias land in the log and the master dataset, and change no report:
 *   neither the batch views (a second run of the day) nor the speed views (today).
 */
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import type { StoredEvent } from '../../schemas/event';
import { readArchive } from '../support/archive-reader';
import { startLossyProxy } from '../support/lossy-proxy';
import { createTestApp, cronAwayFromNow, readTopic, runBatchDay, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY) * DAY;
// Before the window of the start-up catch-up run (yesterday − 2 … yesterday).
const D = today - 4 * DAY;
const RUN_DAY = new Date(D).toISOString().slice(0, 10);
const NEXT_DAY = new Date(D + DAY).toISOString().slice(0, 10);
const at = (h: number, m = 0) => new Date(D + h * 3_600_000 + m * 60_000);

const METRICS = 'events,uv,clicks,installs,attributed_installs,organic_installs,purchases,revenue,custom_events';

let stack: TestStack;
let app: { app_id: string; write_key: string; read_key: string };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON answers
async function report(granularity: 'daily' | 'hourly', params: Record<string, string>): Promise<any> {
  const qs = new URLSearchParams({ metrics: METRICS, ...params });
  const res = await fetch(`${stack.url}/v1/apps/${app.app_id}/reports/${granularity}?${qs}`, { headers: { authorization: `Bearer ${app.read_key}` } });
  expect(res.status).toBe(200);
  return res.json();
}
const dayReport = (groupBy?: string) => report('daily', { from: RUN_DAY, to: NEXT_DAY, ...(groupBy ? { group_by: groupBy } : {}) });

function segmentClient(host: string): { client: SegmentAnalytics; errors: unknown[] } {
  const errors: unknown[] = [];
  const client = new SegmentAnalytics({ writeKey: app.write_key, host, flushAt: 20, flushInterval: 100, maxRetries: 3 });
  client.on('error', (err) => errors.push(err));
  return { client, errors };
}

function rudderClient(host: string): { client: RudderAnalytics; errors: unknown[] } {
  const errors: unknown[] = [];
  const client = new RudderAnalytics(app.write_key, { host, flushAt: 20, flushInterval: 100, retryCount: 3, logLevel: 'error', errorHandler: (err) => errors.push(err) });
  return { client, errors };
}

/** One app user's journey through an SDK: install, purchase, a screen and a custom event. */
interface JsonObject {
  [k: string]: string | number | JsonObject;
}
interface Journey {
  track(m: { event: string; anonymousId: string; properties?: JsonObject; context: JsonObject; timestamp: Date }): void;
  screen(m: { name: string; anonymousId: string; context: JsonObject; timestamp: Date }): void;
}
function journey(sdk: Journey, device: string, revenue: number): void {
  const base = { anonymousId: `anon-${device}`, context: { device: { advertisingId: device }, os: { name: 'iOS', version: '17.2' }, locale: 'en-US' } };
  sdk.track({ ...base, event: 'Application Installed', timestamp: at(10, 30) });
  sdk.track({ ...base, event: 'Order Completed', properties: { revenue, currency: 'USD', order_id: `o-${device}` }, timestamp: at(11) });
  sdk.screen({ ...base, name: 'Cart', timestamp: at(11, 5) });
  sdk.track({ ...base, event: 'Level Up', properties: { level: 2 }, timestamp: at(11, 10) });
}

/** Five custom events of five devices, flushed through a proxy that loses the answer to the SDK's first request. */
async function throughLossyProxy(kind: 'segment' | 'rudder'): Promise<{ lost: number; forwarded: number; errors: unknown[] }> {
  const proxy = await startLossyProxy(stack.url, (n) => n === 1);
  try {
    const base = (i: number) => ({ anonymousId: `retry-${kind}-${i}`, event: 'Level Up', properties: { level: i }, timestamp: at(12, i) });
    if (kind === 'segment') {
      const { client, errors } = segmentClient(proxy.url);
      for (let i = 0; i < 5; i++) client.track(base(i));
      await client.closeAndFlush();
      return { ...proxy.counts, errors };
    }
    const { client, errors } = rudderClient(proxy.url);
    for (let i = 0; i < 5; i++) client.track(base(i));
    await client.flush();
    return { ...proxy.counts, errors };
  } finally {
    await proxy.stop();
  }
}

async function storedEvents(): Promise<StoredEvent[]> {
  return (await readTopic(stack.cfg.kafka.topics.events)).map((m) => JSON.parse(m.value) as StoredEvent);
}

beforeAll(async () => {
  stack = await startTestStack({ env: { BATCH_CRON: cronAwayFromNow() } });
  app = await createTestApp(stack, { app_id: 'seg-sdks' });
});

afterAll(async () => {
  await stack?.stop();
});

describe('Segment and RudderStack SDKs beside an ad network', () => {
  let lossy: Record<'segment' | 'rudder', Awaited<ReturnType<typeof throughLossyProxy>>>;
  let firstRun: Awaited<ReturnType<typeof runBatchDay>>;

  beforeAll(async () => {
    // The ad network's clicks, 30 minutes before the installs.
    const clicks = [
      { event_id: 'click-tt', app_id: app.app_id, type: 'click', ts: at(10).getTime(), device_id: 'idfa-seg', campaign_id: 'tt-spring', channel: 'tiktok' },
      { event_id: 'click-meta', app_id: app.app_id, type: 'click', ts: at(10).getTime(), device_id: 'idfa-rud', campaign_id: 'meta-spring', channel: 'meta' },
    ];
    const posted = await fetch(`${stack.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.write_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: clicks }),
    });
    expect(posted.status).toBe(202);

    const segment = segmentClient(stack.url);
    journey(segment.client, 'idfa-seg', 19.99);
    await segment.client.closeAndFlush();
    const rudder = rudderClient(stack.url);
    journey(rudder.client, 'idfa-rud', 5.01);
    await rudder.client.flush();
    expect([...segment.errors, ...rudder.errors]).toEqual([]);

    lossy = { segment: await throughLossyProxy('segment'), rudder: await throughLossyProxy('rudder') };
    firstRun = await runBatchDay(stack, RUN_DAY);
    expect(firstRun).toMatchObject({ status: 'succeeded' });
  });

  it('attributes the SDK installs to the ad network clicks, with purchases and revenue by channel', async () => {
    const r = await dayReport('channel');
    expect(r.rows).toEqual([
      // The retried custom events of devices without a first install: channel ''.
      { bucket: `${RUN_DAY}T00:00:00+00:00`, source: 'batch', channel: '', events: 10, uv: 10, clicks: 0, installs: 0, attributed_installs: 0, organic_installs: 0, purchases: 0, revenue: 0, custom_events: 10 },
      { bucket: `${RUN_DAY}T00:00:00+00:00`, source: 'batch', channel: 'meta', events: 5, uv: 1, clicks: 1, installs: 1, attributed_installs: 1, organic_installs: 0, purchases: 1, revenue: 5.01, custom_events: 2 },
      { bucket: `${RUN_DAY}T00:00:00+00:00`, source: 'batch', channel: 'tiktok', events: 5, uv: 1, clicks: 1, installs: 1, attributed_installs: 1, organic_installs: 0, purchases: 1, revenue: 19.99, custom_events: 2 },
    ]);
  });

  it('counts once a flush whose answer was lost and that the SDK sent again', async () => {
    for (const kind of ['segment', 'rudder'] as const) {
      expect(lossy[kind]).toMatchObject({ lost: 1, errors: [] });
      expect(lossy[kind].forwarded).toBeGreaterThanOrEqual(2);
    }
    const retried = (await storedEvents()).filter((e) => e.device_id.startsWith('retry-'));
    const distinct = new Set(retried.map((e) => e.event_id));
    expect(distinct.size).toBe(10);
    expect(retried.length).toBeGreaterThan(distinct.size); // both copies reached the log
    expect(firstRun.duplicates_dropped).toBe(retried.length - distinct.size);
    const r = await report('hourly', { from: `${RUN_DAY}T12:00:00Z`, to: `${RUN_DAY}T13:00:00Z` });
    expect(r.rows).toEqual([expect.objectContaining({ source: 'batch', events: 10, uv: 10, custom_events: 10 })]);
  });

  describe('identify, group and alias', () => {
    const ids = (e: StoredEvent) => `${e.type}:${e.device_id}`;
    let batchBefore: unknown;
    let speedBefore: unknown;

    beforeAll(async () => {
      batchBefore = (await dayReport('type')).rows;
      speedBefore = (await report('daily', { from: new Date(today).toISOString().slice(0, 10), to: new Date(today + DAY).toISOString().slice(0, 10), group_by: 'type' })).rows;
      expect(speedBefore).toEqual([]);

      // On the batch-covered day, and now (speed views), each through both SDKs.
      const segment = segmentClient(stack.url);
      const rudder = rudderClient(stack.url);
      for (const [sdk, who] of [[segment.client, 'seg'], [rudder.client, 'rud']] as const) {
        for (const timestamp of [at(13), undefined]) {
          const userId = `user-${who}${timestamp ? '' : '-now'}`;
          sdk.identify({ userId, traits: { plan: 'pro' }, ...(timestamp ? { timestamp } : {}) });
          sdk.group({ userId, groupId: `org-${who}`, ...(timestamp ? { timestamp } : {}) });
          sdk.alias({ userId, previousId: `anon-idfa-${who}`, ...(timestamp ? { timestamp } : {}) });
        }
      }
      // A sentinel after them in the same partition (same device): once the speed layer counted it, it has read them.
      segment.client.track({ userId: 'user-seg-now', event: 'Sentinel' });
      await segment.client.closeAndFlush();
      await rudder.client.flush();
      expect([...segment.errors, ...rudder.errors]).toEqual([]);
    });

    it('land in the log and in the master dataset under their own type', async () => {
      const expected = ['seg', 'rud', 'seg-now', 'rud-now'].flatMap((who) => ['identify', 'group', 'alias'].map((t) => `${t}:user-${who}`)).sort();
      const inLog = (await storedEvents()).filter((e) => e.device_id.startsWith('user-') && e.type !== 'event');
      expect(inLog.map(ids).sort()).toEqual(expected);
      const archived = await waitFor(async () => {
        const rows = (await readArchive(stack.cfg.objectStore.url)).filter((e) => e.device_id.startsWith('user-') && e.type !== 'event');
        return rows.length === expected.length ? rows : undefined;
      }, { timeoutMs: 60_000, what: 'identify, group and alias archived' });
      expect(archived.map(ids).sort()).toEqual(expected);
    });

    it('change no speed view: today counts only the sentinel', async () => {
      const todayRows = await waitFor(async () => {
        const rows = (await report('daily', { from: new Date(today).toISOString().slice(0, 10), to: new Date(today + DAY).toISOString().slice(0, 10), group_by: 'type' })).rows;
        return rows.length > 0 ? rows : undefined;
      }, { timeoutMs: 60_000, what: 'the sentinel in the speed views' });
      expect(todayRows).toEqual([expect.objectContaining({ source: 'speed', type: 'event', events: 1, uv: 1, custom_events: 1 })]);
    });

    it('change no batch view: a second run of the day gives the same report', async () => {
      const second = await runBatchDay(stack, RUN_DAY);
      expect(second).toMatchObject({ status: 'succeeded', duplicates_dropped: firstRun.duplicates_dropped });
      expect((await dayReport('type')).rows).toEqual(batchBefore);
    });
  });
});
