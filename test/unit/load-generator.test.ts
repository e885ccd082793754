import { gunzipSync } from 'node:zlib';
import { EVENT_TYPES, MIN_EVENT_TS, parseTime, validateWireEvent, type WireEvent } from '../../schemas/event';
import {
  EDGE_CASES,
  FRAUD_CIDRS,
  generateEventArray,
  generateEvents,
  type GenerateOptions,
  type GeneratedEvent,
} from '../../ingest/load-generator/generate-events';
import { sendEvents, retryAfterMs, type Transport, type TransportResponse } from '../../ingest/load-generator/send-events';
import { parseKeys } from '../../ingest/load-generator/main';
import { simulateArchive } from '../reference/archive-from-wire';
import { IpRanges } from '../reference/ip-ranges';
import { buildReferenceModel, type ReferenceModel } from '../reference/reports';

const DAY = 86_400_000;
const END = Date.UTC(2026, 10, 24);
const OPTIONS: GenerateOptions = {
  seed: 42,
  apps: ['demo', 'shop', 'game'],
  events: 30_000,
  startMs: END - 7 * DAY,
  endMs: END,
  invalidFraction: 0.01,
};

let items: GeneratedEvent[];
let model: ReferenceModel;

beforeAll(() => {
  items = generateEventArray(OPTIONS);
  model = buildReferenceModel(simulateArchive(items).archived, { globalBlocklist: FRAUD_CIDRS });
});

const valid = () => items.filter((g) => !g.tags.includes('invalid'));
const tagged = (tag: string) => items.filter((g) => g.tags.includes(tag as never));

describe('generateEvents: determinism and shape', () => {
  it('produces the same stream for the same seed and options', () => {
    const again = generateEventArray(OPTIONS);
    expect(JSON.stringify(again)).toBe(JSON.stringify(items));
  });

  it('produces a different stream for another seed', () => {
    const other = generateEventArray({ ...OPTIONS, seed: 43, events: 1000 });
    const ids = new Set(items.map((g) => g.event.event_id));
    expect(other.filter((g) => ids.has(g.event.event_id))).toHaveLength(0);
    expect(JSON.stringify(other.map((g) => g.event.ts))).not.toBe(JSON.stringify(items.slice(0, 1000).map((g) => g.event.ts)));
  });

  it('yields exactly the requested number of events, in send order', () => {
    expect(items).toHaveLength(30_000);
    expect(items.filter((g, i) => g.sendAtOrder !== i)).toEqual([]);
    expect(items.filter((g, i) => i > 0 && g.sendAtMs < items[i - 1].sendAtMs)).toEqual([]);
  });

  it('emits only events that happened within the span (none in the future)', () => {
    expect(items.filter((g) => g.trueTs > END)).toEqual([]);
  });

  it('makes every event valid except the deliberately invalid ones', () => {
    const failures = valid()
      .map((g) => ({ event: g.event, v: validateWireEvent(g.event) }))
      .filter((x) => !x.v.ok);
    expect(failures).toEqual([]);
  });

  it('makes the invalid ones fail validation or the collector time check', () => {
    const invalid = tagged('invalid');
    expect(invalid.length).toBeGreaterThan(100);
    expect(invalid.filter((g) => validateWireEvent(g.event).ok && (parseTime(g.event.ts) as number) >= MIN_EVENT_TS)).toEqual([]);
    // Some share the id of a valid event and come first: the valid copy must still count.
    const validIds = new Set(valid().map((g) => g.event.event_id));
    expect(invalid.some((g) => validIds.has(g.event.event_id))).toBe(true);
  });

  it('streams lazily: the first events of a huge run come at once', () => {
    const t0 = performance.now();
    const first = [];
    for (const g of generateEvents({ ...OPTIONS, events: 50_000_000 })) {
      first.push(g);
      if (first.length === 100) break;
    }
    expect(first).toHaveLength(100);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => generateEventArray({ ...OPTIONS, endMs: OPTIONS.startMs })).toThrow(/startMs < endMs/);
    expect(() => generateEventArray({ ...OPTIONS, lateFraction: 2 })).toThrow(/lateFraction/);
    expect(() => generateEventArray({ ...OPTIONS, startMs: 0 })).toThrow(/2000/);
  });

  it('honours a fixed number of devices per app', () => {
    const small = generateEventArray({ ...OPTIONS, events: undefined, devicesPerApp: 20, edgeCases: false, duplicateFraction: 0, invalidFraction: 0 });
    const devices = new Map<string, Set<string>>();
    for (const g of small) {
      if (String(g.event.device_id).startsWith('web-')) continue;
      devices.set(String(g.event.app_id), (devices.get(String(g.event.app_id)) ?? new Set()).add(String(g.event.device_id)));
    }
    expect([...devices.keys()].sort()).toEqual(['demo', 'game', 'shop']);
    for (const s of devices.values()) expect(s.size).toBeLessThanOrEqual(20);
  });
});

describe('generateEvents: content', () => {
  it('contains every event type in every app', () => {
    for (const app of OPTIONS.apps ?? []) {
      const types = new Set(valid().filter((g) => g.event.app_id === app).map((g) => g.event.type));
      expect([...types].sort()).toEqual([...EVENT_TYPES].sort());
    }
  });

  it('sets ip and ua on clicks and installs (except the deliberate ua-less edge case)', () => {
    const network = valid().filter((g) => g.event.type === 'click' || g.event.type === 'install');
    expect(network.filter((g) => !g.event.ip)).toEqual([]);
    expect(network.filter((g) => !g.event.ua).map((g) => g.tags)).toEqual(
      network.filter((g) => !g.event.ua).map(() => expect.arrayContaining(['edge:probabilistic-empty-ua'])),
    );
  });

  it('re-sends duplicates as the same event object, later in the stream', () => {
    const dups = tagged('duplicate');
    expect(dups.length).toBeGreaterThan(300);
    const firstSeen = new Map<unknown, GeneratedEvent>();
    for (const g of items) if (!g.tags.includes('duplicate') && !g.tags.includes('invalid')) firstSeen.set(g.event.event_id, g);
    const differing = dups.filter((d) => {
      const original = firstSeen.get(d.event.event_id) as GeneratedEvent;
      return JSON.stringify(d.event) !== JSON.stringify(original.event) || d.sendAtOrder <= original.sendAtOrder;
    });
    expect(differing).toEqual([]);
  });

  it('sends late events hours to days after they happened, after newer events', () => {
    const late = tagged('late');
    expect(late.length).toBeGreaterThan(300);
    expect(late.filter((g) => g.sendAtMs - g.trueTs < 3_600_000)).toEqual([]);
    // Newest event time sent so far, at each position: a late event comes well after newer ones.
    const newest: number[] = [];
    items.forEach((g, i) => (newest[i] = Math.max(newest[i - 1] ?? 0, g.trueTs)));
    const overtaken = late.filter((g) => newest[g.sendAtOrder - 1] > g.trueTs + 1_800_000);
    expect(overtaken.length / late.length).toBeGreaterThan(0.95);
  });

  it('stamps skewed devices with their own clock in ts and sent_at, so that the correction recovers the true time', () => {
    // A duplicate is the same object sent later: its sent_at is rebased at the real send (sendEvents).
    const skewed = valid().filter((g) => g.tags.includes('skew') && !g.tags.includes('duplicate'));
    expect(skewed.length).toBeGreaterThan(300);
    const wrong = skewed.filter((g) => {
      const ts = parseTime(g.event.ts) as number;
      const sentAt = parseTime(g.event.sent_at) as number;
      return ts === g.trueTs || ts + (g.sendAtMs - sentAt) !== g.trueTs;
    });
    expect(wrong).toEqual([]);
  });

  it('lets the collector recover the true time of every valid event (ISO strings, offsets, skew)', () => {
    expect(tagged('iso_ts').some((g) => /[+-]\d\d:\d\d$/.test(String(g.event.ts)))).toBe(true);
    const byId = new Map(model.winners.map((e) => [`${e.app_id}/${e.event_id}`, e.ts]));
    const wrong = valid().filter((g) => !g.tags.includes('duplicate') && byId.get(`${g.event.app_id}/${g.event.event_id}`) !== g.trueTs);
    expect(wrong).toEqual([]);
  });

  it('gives purchases at most 6 decimals and several currencies; errors group into few fingerprints', () => {
    const purchases = valid().filter((g) => g.event.type === 'purchase');
    const micros = (p: GeneratedEvent) => (p.event.revenue as number) * 1e6;
    expect(purchases.filter((p) => Math.abs(micros(p) - Math.round(micros(p))) > 1e-6)).toEqual([]);
    expect(new Set(purchases.map((p) => p.event.currency)).size).toBeGreaterThanOrEqual(4);
    const errors = model.winners.filter((e) => e.type === 'error');
    const fingerprints = new Set(errors.map((e) => e.fingerprint));
    expect(errors.length).toBeGreaterThan(200);
    expect(fingerprints.size).toBeLessThanOrEqual(8);
    expect(new Set(errors.map((e) => e.error_message)).size).toBeGreaterThan(errors.length / 2);
  });

  it('uses several channels and campaigns per app', () => {
    const clicks = valid().filter((g) => g.event.type === 'click' && g.event.app_id === 'demo');
    expect(new Set(clicks.map((g) => g.event.channel)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(clicks.map((g) => g.event.campaign_id)).size).toBeGreaterThanOrEqual(15);
  });

  it('puts some addresses just outside the fraud ranges', () => {
    const blocked = new IpRanges(FRAUD_CIDRS);
    const nearMiss = tagged('near_miss_ip').filter((g) => g.event.type === 'install');
    expect(nearMiss.length).toBeGreaterThan(0);
    expect(nearMiss.filter((g) => blocked.contains(String(g.event.ip)))).toEqual([]);
  });
});

describe('generateEvents: attribution and fraud, judged by the reference model', () => {
  const decisions = () => [...model.attribution.firstInstalls.values()];

  it('yields attributed (device and probabilistic), organic and rejected installs, and reinstalls', () => {
    const d = decisions();
    expect(d.filter((x) => x.outcome === 'attributed' && x.match === 'device').length).toBeGreaterThan(500);
    expect(d.filter((x) => x.outcome === 'attributed' && x.match === 'probabilistic').length).toBeGreaterThan(50);
    expect(d.filter((x) => x.outcome === 'organic').length).toBeGreaterThan(300);
    expect(model.attribution.reinstalls.size).toBeGreaterThan(10);
  });

  it.each(['click_injection', 'click_flooding', 'blocked_ip'] as const)('yields installs rejected for %s', (reason) => {
    expect(decisions().filter((x) => x.fraud_reason === reason).length).toBeGreaterThan(20);
  });

  it.each(['click_injection', 'click_flooding', 'blocked_ip_click', 'blocked_ip_install'] as const)(
    'rejects the installs of the %s pattern',
    (pattern) => {
      const reason = pattern.startsWith('blocked_ip') ? 'blocked_ip' : pattern;
      const installs = valid().filter((g) => g.event.type === 'install' && g.tags.includes(`fraud:${pattern}`) && !g.tags.includes('reinstall'));
      const byId = new Map(decisions().map((x) => [`${x.app_id}/${x.install_event_id}`, x]));
      const judged = installs.map((g) => byId.get(`${g.event.app_id}/${g.event.event_id}`)).filter((x) => x !== undefined);
      expect(judged.length).toBeGreaterThan(5);
      expect(judged.filter((x) => x.fraud_reason === reason).length / judged.length).toBeGreaterThan(0.9);
    },
  );

  it('has installs whose click lies beyond the 7-day lookback (spans over 7 days), which that click does not get', () => {
    const long = generateEventArray({ ...OPTIONS, events: 20_000, startMs: END - 28 * DAY, edgeCases: false, invalidFraction: 0 });
    const m = buildReferenceModel(simulateArchive(long).archived);
    const beyond = long.filter((g) => g.tags.includes('beyond_lookback') && g.event.type === 'install' && !g.tags.includes('duplicate'));
    expect(beyond.length).toBeGreaterThan(3);
    const byId = new Map([...m.attribution.firstInstalls.values()].map((x) => [`${x.app_id}/${x.install_event_id}`, x]));
    const judged = beyond.map((g) => byId.get(`${g.event.app_id}/${g.event.event_id}`)).filter((x) => x !== undefined);
    expect(judged.filter((x) => x.outcome !== 'organic' && (x.ctit_ms as number) > 7 * DAY)).toEqual([]);
    expect(judged.filter((x) => x.outcome === 'organic').length).toBeGreaterThan(0);
  });

  describe.each(OPTIONS.apps ?? [])('edge cases of app %s', (app) => {
    it.each(EDGE_CASES.map((e) => [e.name, e] as const))('%s', (name, edge) => {
      const install = items.find((g) => g.event.app_id === app && g.tags.includes(`edge:${name}`) && g.event.type === 'install' && String(g.event.event_id).endsWith('-install'));
      expect(install).toBeDefined();
      const x = decisions().find((d) => d.app_id === app && d.install_event_id === install?.event.event_id);
      expect(x).toBeDefined();
      expect({
        outcome: x?.outcome,
        match: x?.match,
        fraud_reason: x?.fraud_reason,
        click: x?.click_event_id ? x.click_event_id.slice(x.click_event_id.indexOf(`${name}-`) + name.length + 1) : null,
        ctit_ms: x?.ctit_ms,
      }).toEqual(edge.expected);
    });
  });
});

describe('generateEvents: time-compressed (the demo’s timeScale)', () => {
  // Two hours of real time at 1/60: a simulated hour per real minute. Judged on what was sent
  // in the first hour, as a demo that ran for an hour would have sent it.
  const start = END;
  let sent: GeneratedEvent[];
  let judged: ReferenceModel;
  beforeAll(() => {
    const all = generateEventArray({ seed: 7, apps: ['demo'], events: 40_000, startMs: start, endMs: start + 2 * 3_600_000, timeScale: 1 / 60, edgeCases: false });
    sent = all.filter((g) => g.sendAtMs <= start + 3_600_000);
    judged = buildReferenceModel(simulateArchive(sent).archived, { globalBlocklist: FRAUD_CIDRS });
  });

  it('plays whole journeys out within the hour: attributed, organic and rejected installs, reinstalls, purchases, errors', () => {
    const d = [...judged.attribution.firstInstalls.values()];
    expect(d.filter((x) => x.outcome === 'attributed' && x.match === 'device').length).toBeGreaterThan(300);
    expect(d.filter((x) => x.outcome === 'attributed' && x.match === 'probabilistic').length).toBeGreaterThan(30);
    expect(d.filter((x) => x.outcome === 'organic').length).toBeGreaterThan(300);
    for (const reason of ['click_injection', 'click_flooding', 'blocked_ip']) expect(d.filter((x) => x.fraud_reason === reason).length).toBeGreaterThan(5);
    expect(judged.attribution.reinstalls.size).toBeGreaterThan(5);
    for (const type of ['purchase', 'error', 'event', 'launch'] as const) expect(sent.filter((g) => g.event.type === type).length).toBeGreaterThan(50);
  });

  it('keeps every gap on its side of the 10 s click-injection threshold: paid installs are rarely injected-looking (as in real time), injected ones always', () => {
    const byId = new Map([...judged.attribution.firstInstalls.values()].map((x) => [x.install_event_id, x]));
    const outcomes = (tag: string) =>
      sent
        .filter((g) => g.event.type === 'install' && g.tags.includes(tag as never) && !g.tags.includes('reinstall'))
        .map((g) => byId.get(String(g.event.event_id)))
        .filter((x) => x !== undefined);
    const paid = outcomes('paid');
    expect(paid.length).toBeGreaterThan(200);
    // Real click-to-install times are under 10 s for about 0.4 % of paid installs; compression adds none.
    expect(paid.filter((x) => x.fraud_reason === 'click_injection').length / paid.length).toBeLessThan(0.015);
    const injected = outcomes('fraud:click_injection');
    expect(injected.length).toBeGreaterThan(5);
    expect(injected.every((x) => x.fraud_reason === 'click_injection')).toBe(true);
  });

  it('rejects a scale outside (0, 1]', () => {
    expect(() => generateEventArray({ seed: 1, startMs: start, endMs: start + 1000, timeScale: 0 })).toThrow(/timeScale/);
    expect(() => generateEventArray({ seed: 1, startMs: start, endMs: start + 1000, timeScale: 2 })).toThrow(/timeScale/);
  });
});

describe('sendEvents', () => {
  const events = (n: number, app = 'demo'): WireEvent[] =>
    Array.from({ length: n }, (_, i) => ({ event_id: `e${i}`, app_id: app, type: 'launch', ts: END, device_id: 'd' }) as WireEvent);

  /** A scripted collector: `answer` decides each response from the request. */
  function fakeTransport(answer: (req: { events: WireEvent[]; headers: Record<string, string | number>; n: number }) => TransportResponse | Error) {
    const requests: { events: WireEvent[]; headers: Record<string, string | number> }[] = [];
    const transport: Transport = {
      post: async (headers, body) => {
        const raw = headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
        const req = { events: (JSON.parse(raw.toString('utf8')) as { events: WireEvent[] }).events, headers: { ...headers }, n: requests.length };
        requests.push(req);
        const a = answer(req);
        if (a instanceof Error) throw a;
        return a;
      },
      close: () => undefined,
    };
    return { transport, requests };
  }
  const ok = (events: WireEvent[], rejected: { index: number; event_id: string; reason: string }[] = []): TransportResponse => ({
    status: 202,
    headers: {},
    body: JSON.stringify({ accepted: events.length - rejected.length, rejected }),
  });

  it('batches per app with that app’s write key', async () => {
    const { transport, requests } = fakeTransport((r) => ok(r.events));
    const r = await sendEvents([...events(250, 'a'), ...events(30, 'b')], { url: 'http://x', keys: { a: 'ka', b: 'kb' }, transport, batchSize: 100 });
    expect(r).toMatchObject({ sent: 280, accepted: 280, rejected: [], retries: 0, failedBatches: 0 });
    expect(requests.map((q) => [q.headers.authorization, q.events.length])).toEqual([
      ['Bearer ka', 100],
      ['Bearer ka', 100],
      ['Bearer ka', 50],
      ['Bearer kb', 30],
    ]);
  });

  it('retries 503, 429 and network errors with the same events, honouring Retry-After', async () => {
    const { transport, requests } = fakeTransport((r) => {
      if (r.n === 0) return { status: 503, headers: { 'retry-after': '0' }, body: '{"error":{"code":"unavailable","message":"log down"}}' };
      if (r.n === 1) return new Error('socket hang up');
      if (r.n === 2) return { status: 429, headers: { 'retry-after': '0' }, body: '' };
      return ok(r.events);
    });
    const r = await sendEvents(events(10), { url: 'http://x', keys: { demo: 'k' }, transport, concurrency: 1 });
    expect(r).toMatchObject({ sent: 10, accepted: 10, retries: 3, failedBatches: 0 });
    expect(new Set(requests.map((q) => JSON.stringify(q.events))).size).toBe(1);
  });

  it('gives up on a batch after bounded retries, and never retries a 4xx other than 429', async () => {
    const down = fakeTransport(() => ({ status: 503, headers: { 'retry-after': '0' }, body: '' }));
    const r1 = await sendEvents(events(3), { url: 'http://x', keys: { demo: 'k' }, transport: down.transport, maxRetries: 2 });
    expect(r1).toMatchObject({ accepted: 0, retries: 2, failedBatches: 1 });
    expect(down.requests).toHaveLength(3);
    expect(r1.rejected.map((x) => x.event_id)).toEqual(['e0', 'e1', 'e2']);

    const unauthorized = fakeTransport(() => ({ status: 401, headers: {}, body: '{"error":{"code":"unauthorized","message":"bad key"}}' }));
    const r2 = await sendEvents(events(2), { url: 'http://x', keys: { demo: 'k' }, transport: unauthorized.transport });
    expect(unauthorized.requests).toHaveLength(1);
    expect(r2.rejected[0].reason).toMatch(/HTTP 401: unauthorized bad key/);
  });

  it('reports per-event rejections, events of apps without a key, and per-batch results', async () => {
    const { transport } = fakeTransport((r) => ok(r.events, [{ index: 1, event_id: 'e1', reason: 'ts: bad' }]));
    const r = await sendEvents([...events(3), ...events(1, 'nokey')], { url: 'http://x', keys: { demo: 'k' }, transport, collectBatches: true });
    expect(r.rejected).toEqual([
      { app_id: 'nokey', event_id: 'e0', reason: 'no write key for app "nokey"' },
      { app_id: 'demo', event_id: 'e1', reason: 'ts: bad' },
    ]);
    expect(r.batches).toEqual([expect.objectContaining({ app_id: 'demo', size: 3, status: 202, attempts: 1, accepted: 2, rejected: 1 })]);
  });

  it('gzips bodies on request', async () => {
    const { transport, requests } = fakeTransport((r) => ok(r.events));
    await sendEvents(events(5), { url: 'http://x', keys: { demo: 'k' }, transport, gzip: true });
    expect(requests[0].headers['content-encoding']).toBe('gzip');
    expect(requests[0].events).toHaveLength(5);
  });

  it('rebases sent_at of generated items to the real send time, keeping ts', async () => {
    const { transport, requests } = fakeTransport((r) => ok(r.events));
    const event = { event_id: 'e', app_id: 'demo', type: 'launch', ts: END + 300_000, sent_at: END + 301_000, device_id: 'd' } as WireEvent;
    const before = Date.now();
    await sendEvents([{ event, sendAtMs: END + 1_000 }], { url: 'http://x', keys: { demo: 'k' }, transport });
    const sent = requests[0].events[0];
    expect(sent.ts).toBe(END + 300_000);
    // The device clock runs 300 s ahead: sent_at = now + 300 s, so ts + (received_at - sent_at) = END.
    expect(Number(sent.sent_at) - before).toBeGreaterThanOrEqual(300_000);
    expect(Number(sent.sent_at) - Date.now()).toBeLessThanOrEqual(300_000);
    expect(event.sent_at).toBe(END + 301_000);
  });

  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('generate command', () => {
  it('parses app=key lists', () => {
    expect(parseKeys('demo=wk_1, shop=wk=2')).toEqual({ demo: 'wk_1', shop: 'wk=2' });
    expect(() => parseKeys('demo')).toThrow(/app=writeKey/);
  });
});
