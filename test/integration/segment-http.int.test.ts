/**
 * Segment's HTTP Tracking API on the collector (DESIGN.md sections 3a and 7), against the real
 * broker: Basic and Bearer auth with the write key, `200 {"success": true}` with each message
 * mapped into the events topic, per-message problems only in the DLQ with their reason,
 * 400 for a body that is not a Segment payload, Segment's size limits, Segment-style error
 * bodies, and CORS (preflight included) for the origins of CORS_ORIGINS.
 */
import zlib from 'node:zlib';
import type { StoredEvent } from '../../schemas/event';
import { createTestApp, readTopic, startTestStack, type TestStack } from '../support/test-stack';

jest.setTimeout(180_000);

const APP = 'seg-http';
const SITE = 'http://site.example';

let stack: TestStack;
let writeKey: string;

beforeAll(async () => {
  stack = await startTestStack({ role: 'ingest', env: { CORS_ORIGINS: SITE } });
  writeKey = (await createTestApp(stack, { app_id: APP })).write_key;
});

afterAll(async () => {
  await stack?.stop();
});

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON answers
async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: basic(writeKey) }): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function storedById(): Promise<Map<string, StoredEvent>> {
  const messages = await readTopic(stack.cfg.kafka.topics.events);
  return new Map(messages.map((m) => JSON.parse(m.value) as StoredEvent).map((e) => [e.event_id, e]));
}

const ts = new Date(Date.now() - 60_000).toISOString();
const msg = (messageId: string, over: Record<string, unknown> = {}) => ({ type: 'track', event: 'Level Up', messageId, anonymousId: 'anon-1', timestamp: ts, ...over });

describe('a Segment batch mixing good and bad messages', () => {
  const bad: Record<string, RegExp> = {
    'h-no-device': /^device id: one of context\.device\.advertisingId/,
    'h-bad-time': /^timestamp: must be an ISO-8601 time/,
    'h-unknown-type': /^type: must be one of track, screen, page, identify, group, alias$/,
    'h-negative': /^properties\.revenue \(or total\) \(revenue\): must be a number >= 0$/,
    'h-too-big': /^message is \d+ bytes; at most 32768 allowed/,
    'h-future': /^timestamp \(or originalTimestamp\) \(ts\): corrected event time .* is more than 1 hour after the server receive time$/,
  };
  let answer: Awaited<ReturnType<typeof post>>;

  beforeAll(async () => {
    answer = await post('/v1/batch', {
      writeKey,
      sentAt: new Date().toISOString(),
      batch: [
        msg('h-track', { properties: { level: 3 }, context: { ip: '203.0.113.7', os: { name: 'Android', version: '14' }, locale: 'de-DE' } }),
        msg('h-no-device', { anonymousId: undefined }),
        msg('h-bad-time', { timestamp: 'last tuesday' }),
        { type: 'screen', name: 'Cart', messageId: 'h-screen', userId: 'user-1', timestamp: ts },
        msg('h-unknown-type', { type: 'flush' }),
        msg('h-order', { event: 'Order Completed', properties: { total: 12.5, currency: 'eur' } }),
        msg('h-negative', { event: 'Order Completed', properties: { revenue: -3 } }),
        { type: 'identify', messageId: 'h-identify', userId: 'user-1', traits: { plan: 'pro' }, timestamp: ts, writeKey },
        { type: 'group', messageId: 'h-group', userId: 'user-1', groupId: 'org-1', timestamp: ts },
        { type: 'alias', messageId: 'h-alias', userId: 'user-1', previousId: 'anon-1', timestamp: ts },
        msg('h-too-big', { properties: { blob: 'x'.repeat(33 * 1024) } }),
        'not a message',
        msg('h-future', { timestamp: new Date(Date.now() + 3 * 3_600_000).toISOString() }),
      ],
    });
  });

  it('answers 200 {"success": true}', () => {
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ success: true });
  });

  it('writes each good message to the events topic as its weir event', async () => {
    const stored = await storedById();
    expect(stored.get('h-track')).toMatchObject({ app_id: APP, type: 'event', name: 'Level Up', device_id: 'anon-1', ip: '203.0.113.7', os: 'Android', os_version: '14', country: 'DE' });
    expect(stored.get('h-screen')).toMatchObject({ type: 'event', name: 'screen:Cart', device_id: 'user-1' });
    expect(stored.get('h-order')).toMatchObject({ type: 'purchase', revenue_micros: 12_500_000, currency: 'EUR' });
    expect(JSON.parse(stored.get('h-track')?.properties ?? '{}')).toMatchObject({ messageId: 'h-track', properties: { level: 3 } });
  });

  it('keeps identify, group and alias under their own type, without the write key', async () => {
    const stored = await storedById();
    for (const type of ['identify', 'group', 'alias']) {
      const e = stored.get(`h-${type}`);
      expect(e).toMatchObject({ type, name: '', device_id: 'user-1' });
      expect(e?.properties).not.toContain(writeKey);
    }
    expect(JSON.parse(stored.get('h-identify')?.properties ?? '{}')).toMatchObject({ traits: { plan: 'pro' } });
  });

  it('dead-letters each bad message with its index, messageId and reason, and nothing else', async () => {
    const dlq = (await readTopic(stack.cfg.kafka.topics.dlq)).map((m) => JSON.parse(m.value) as { app_id: string; index: number; event_id: string | null; reason: string });
    const expected = [
      ...Object.entries(bad).map(([id, reason]) => ({ app_id: APP, event_id: id, reason: expect.stringMatching(reason) })),
      { app_id: APP, index: 11, event_id: null, reason: 'message must be a JSON object, got string' },
    ];
    expect(dlq).toEqual(expect.arrayContaining(expected.map((e) => expect.objectContaining(e))));
    expect(dlq).toHaveLength(expected.length);
    const stored = await storedById();
    for (const id of Object.keys(bad)) expect(stored.has(id)).toBe(false);
  });
});

describe('routes and auth', () => {
  it('takes the write key as a Bearer token and gzip bodies, on the long and the one-letter paths', async () => {
    const gz = zlib.gzipSync(JSON.stringify(msg('h-bearer-t', { event: 'Application Opened' })));
    expect((await post('/v1/t', gz, { authorization: `Bearer ${writeKey}`, 'content-encoding': 'gzip' })).json).toEqual({ success: true });
    expect((await post('/v1/page', { messageId: 'h-page', anonymousId: 'anon-2', name: 'Pricing', timestamp: ts })).status).toBe(200);
    const stored = await storedById();
    expect(stored.get('h-bearer-t')).toMatchObject({ type: 'launch' });
    expect(stored.get('h-page')).toMatchObject({ type: 'event', name: 'page:Pricing' });
  });

  it('answers 401 in Segment style to a missing or wrong key', async () => {
    for (const headers of [{}, { authorization: basic('wk_wrong') }, { authorization: `Bearer ${writeKey}x` }] as Record<string, string>[]) {
      const r = await post('/v1/batch', { batch: [msg('h-unauth')] }, headers);
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ success: false, message: expect.stringMatching(/HTTP Basic with the write key/), error: { code: 'unauthorized', message: expect.any(String) } });
    }
    expect((await storedById()).has('h-unauth')).toBe(false);
  });
});

describe('bodies that are not Segment payloads, and the limits', () => {
  it('answers 400 and writes nothing', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['/v1/batch', { events: [msg('h-400-a')] }, /must be a Segment batch/],
      ['/v1/batch', [msg('h-400-b')], /must be a Segment batch/],
      ['/v1/track', [msg('h-400-c')], /must be one Segment track message/],
      ['/v1/batch', '{"batch": [', /not valid JSON/],
      ['/v1/batch', { batch: [msg('h-400-d')], sentAt: 'soon' }, /sentAt must be an ISO-8601 time/],
    ];
    for (const [path, body, reason] of cases) {
      const r = await post(path, body);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ success: false, message: expect.stringMatching(reason), error: { code: 'invalid_body' } });
    }
    const stored = await storedById();
    for (const id of ['h-400-a', 'h-400-b', 'h-400-c', 'h-400-d']) expect(stored.has(id)).toBe(false);
  });

  it("answers 413 over Segment's 32 KB per message route and 500 KB per batch", async () => {
    const single = await post('/v1/track', msg('h-413-a', { properties: { blob: 'x'.repeat(33 * 1024) } }));
    expect(single.status).toBe(413);
    expect(single.json).toMatchObject({ success: false, error: { code: 'payload_too_large' }, message: expect.stringMatching(/at most 32768 bytes/) });
    const batch = await post('/v1/batch', { batch: Array.from({ length: 40 }, (_, i) => msg(`h-413-b${i}`, { properties: { blob: 'x'.repeat(15 * 1024) } })) });
    expect(batch.status).toBe(413);
    expect(batch.json.message).toMatch(/at most 512000 bytes/);
    const stored = await storedById();
    expect([...stored.keys()].filter((id) => id.startsWith('h-413'))).toEqual([]);
  });
});

describe('CORS for the write routes (CORS_ORIGINS)', () => {
  it('answers a preflight from an allowed origin before authentication', async () => {
    const pre = await fetch(`${stack.url}/v1/t`, {
      method: 'OPTIONS',
      headers: { origin: SITE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(pre.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization, Content-Type/);
  });

  it('tags answers for an allowed origin only', async () => {
    const ok = await post('/v1/batch', { batch: [msg('h-cors')] }, { authorization: basic(writeKey), origin: SITE });
    expect(ok.headers.get('access-control-allow-origin')).toBe(SITE);
    const other = await fetch(`${stack.url}/v1/batch`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const denied = await post('/v1/batch', { batch: [] }, { origin: 'https://evil.example' });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});
