/**
 * Bad input to `POST /v1/events` against a real stack (DESIGN.md sections 3, 6, 7): every
 * kind gets its documented status with `{ error: { code, message } }` (or, per event, a `202`
 * whose `rejected` lists it with a reason, and a DLQ record with that reason), and nothing
 * reaches the `events` topic.
 *
 * No request here can legitimately be accepted. Requests refused whole carry events that
 * would be valid on their own ("would-be-valid", event_id `leak-…`): if a request-level check
 * failed open, they would land in `events` and the main stack's last test would name them.
 *
 * Rate limits are global settings, so they are tested on a second stack with low limits,
 * started after the main one stopped (chDB binds one data directory per process).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import { createTestApp, readTopic, startTestStack, type TestStack } from '../support/test-stack';

jest.setTimeout(180_000);

const APP = 'bad-input';
const OTHER_APP = 'bad-input-other';
const MAX_BODY_BYTES = 65_536;
const MAX_BATCH_EVENTS = 50;
// The main stack's rate limits are out of the way; a second stack has low ones (below).
const RATE_REQUESTS_PER_S = 2;
const RATE_EVENTS_PER_S = 10;

let stack: TestStack;
let keys: { write_key: string; read_key: string };
let otherKeys: { write_key: string; read_key: string };

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function post(body: string | Buffer, opts: { key?: string | null; headers?: Record<string, string>; url?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  const key = opts.key === undefined ? keys.write_key : opts.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${opts.url ?? stack.url}/v1/events`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A request through node:http, for what fetch will not send: raw header values, chunked bodies. */
function rawPost(headers: Record<string, string>, chunks: Buffer[]): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: unknown }> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${stack.url}/v1/events`);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    // The server may answer before it has read everything (and then drains the rest).
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

/** `{ error: { code, message } }` and nothing else; the message says what is allowed. */
function expectError(r: { status: number; json: unknown }, status: number, code: string, message: RegExp): void {
  expect({ status: r.status, body: r.json }).toEqual({
    status,
    body: { error: { code, message: expect.stringMatching(message) } },
  });
}

let leakSeq = 0;
/** An event that would be accepted on its own: sent only inside requests that must be refused whole. */
function wouldBeValid(): Record<string, unknown> {
  return { event_id: `leak-${++leakSeq}`, app_id: APP, type: 'launch', ts: Date.now(), device_id: 'device-leak' };
}
const batchOf = (n = 1) => JSON.stringify({ events: Array.from({ length: n }, wouldBeValid) });

/** Every per-event rejection the responses reported: each must be in the DLQ with its reason. */
interface ExpectedDlq {
  app_id: string;
  index: number;
  event_id: string | null;
  reason: string;
  raw?: string;
}
const expectedDlq: ExpectedDlq[] = [];

interface Rejection {
  index: number;
  event_id: string | null;
  reason: string;
}

/** Sends events that are each invalid: 202, nothing accepted, each rejected with its reason. */
async function sendBad(events: unknown[], reasons: RegExp[], opts: { sent_at?: unknown; key?: string; app?: string; gzip?: boolean } = {}): Promise<Rejection[]> {
  const payload = JSON.stringify(opts.sent_at === undefined ? { events } : { events, sent_at: opts.sent_at });
  const r = opts.gzip ? await post(zlib.gzipSync(payload), { key: opts.key, headers: { 'content-encoding': 'gzip' } }) : await post(payload, { key: opts.key });
  expect({ status: r.status, text: r.status === 202 ? '' : r.text }).toEqual({ status: 202, text: '' });
  const body = r.json as { accepted: number; rejected: Rejection[] };
  expect(Object.keys(body).sort()).toEqual(['accepted', 'rejected']);
  expect(body.accepted).toBe(0);
  expect(body.rejected).toHaveLength(events.length);
  body.rejected.forEach((rej, i) => {
    expect(Object.keys(rej).sort()).toEqual(['event_id', 'index', 'reason']);
    expect(rej.index).toBe(i);
    const raw = events[i] as { event_id?: unknown } | null;
    const sentId = typeof raw === 'object' && raw !== null && typeof raw.event_id === 'string' ? raw.event_id : null;
    expect(rej.event_id).toBe(sentId);
    expect(rej.reason).toMatch(reasons[i]);
    expectedDlq.push({ app_id: opts.app ?? APP, index: i, event_id: rej.event_id, reason: rej.reason, raw: JSON.stringify(events[i]) });
  });
  return body.rejected;
}

const TS = () => Date.now() - 60_000;
let badSeq = 0;
/** A valid event of a type, with a unique `bad-…` id, to be broken by `patch`. */
function base(type = 'launch', patch: Record<string, unknown> = {}): Record<string, unknown> {
  const required: Record<string, Record<string, unknown>> = {
    impression: { campaign_id: 'cmp-1', channel: 'ads' },
    click: { campaign_id: 'cmp-1', channel: 'ads' },
    event: { name: 'level_up' },
    purchase: { revenue: 4.99, currency: 'EUR' },
    error: { error_type: 'TypeError', error_message: 'x is undefined' },
  };
  const e: Record<string, unknown> = { event_id: `bad-${++badSeq}`, app_id: APP, type, ts: TS(), device_id: 'device-1', ...required[type], ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete e[k];
  return e;
}

describe('main stack (body and batch limits low, rate limits out of the way)', () => {
  beforeAll(async () => {
    stack = await startTestStack({
      role: 'ingest',
      env: {
        MAX_BODY_BYTES: String(MAX_BODY_BYTES),
        MAX_BATCH_EVENTS: String(MAX_BATCH_EVENTS),
        RATE_LIMIT_REQUESTS_PER_S: '100000',
        RATE_LIMIT_EVENTS_PER_S: '1000000',
      },
    });
    keys = await createTestApp(stack, { app_id: APP });
    otherKeys = await createTestApp(stack, { app_id: OTHER_APP });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  describe('requests refused whole', () => {
    it('malformed JSON: 400', async () => {
      expectError(await post(`{"events":[${JSON.stringify(wouldBeValid())}`), 400, 'invalid_body', /not valid JSON/);
      expectError(await post(`{"events":[${JSON.stringify(wouldBeValid())}],}`), 400, 'invalid_body', /not valid JSON/);
      expectError(await post(`{events:[${JSON.stringify(wouldBeValid())}]}`), 400, 'invalid_body', /not valid JSON/);
    });

    it('empty body: 400', async () => {
      expectError(await post(''), 400, 'invalid_body', /not valid JSON/);
    });

    it.each([
      ['an array of events', () => JSON.stringify([wouldBeValid()])],
      ['a string', () => JSON.stringify('events')],
      ['a number', () => '42'],
      ['null', () => 'null'],
    ])('body that is %s: 400, must be an object', async (_what, body) => {
      expectError(await post(body()), 400, 'invalid_body', /body must be a JSON object \{ "events": \[\.\.\.\], "sent_at"\?: \.\.\. \}/);
    });

    it.each([
      ['an object', () => JSON.stringify({ events: wouldBeValid() })],
      ['a string', () => JSON.stringify({ events: JSON.stringify([wouldBeValid()]) })],
      ['null', () => JSON.stringify({ events: null })],
      ['missing', () => JSON.stringify({ sent_at: Date.now() })],
    ])('events that is %s: 400, must be an array', async (_what, body) => {
      expectError(await post(body()), 400, 'invalid_body', /events must be an array of event objects/);
    });

    it('unknown body field: 400, naming it and the allowed ones', async () => {
      const r = await post(JSON.stringify({ events: [wouldBeValid()], app_id: APP, compress: true }));
      expectError(r, 400, 'invalid_body', /unknown body field\(s\) app_id, compress; allowed: events, sent_at/);
    });

    it.each([
      ['not a time', 'yesterday'],
      ['an invalid date', '2026-02-30T10:00:00Z'],
      ['a boolean', true],
      ['negative', -1],
      ['a float', 1767225600000.5],
      ['an object', { ms: 1 }],
    ])('batch sent_at that is %s: 400', async (_what, sentAt) => {
      const r = await post(JSON.stringify({ events: [wouldBeValid()], sent_at: sentAt }));
      expectError(r, 400, 'invalid_body', /sent_at must be epoch milliseconds or an ISO-8601 time/);
    });

    it('missing Authorization: 401', async () => {
      expectError(await post(batchOf(), { key: null }), 401, 'unauthorized', /a valid write key is required: Authorization: Bearer <write key>/);
    });

    it('wrong key: 401', async () => {
      expectError(await post(batchOf(), { key: `wk_${randomBytes(24).toString('base64url')}` }), 401, 'unauthorized', /valid write key is required/);
      expectError(await post(batchOf(), { key: `${keys.write_key}x` }), 401, 'unauthorized', /valid write key is required/);
      expectError(await post(batchOf(), { key: keys.write_key.slice(0, -1) }), 401, 'unauthorized', /valid write key is required/);
      expectError(await post(batchOf(), { key: 'k'.repeat(5000) }), 401, 'unauthorized', /valid write key is required/);
    });

    it.each([
      ['no scheme', () => keys.write_key],
      ['Basic', () => `Basic ${Buffer.from(`${APP}:${keys.write_key}`).toString('base64')}`],
      ['Bearer without a key', () => 'Bearer'],
      ['Bearer and blanks', () => 'Bearer    '],
      ['two keys', () => `Bearer ${keys.write_key} ${keys.write_key}`],
      ['a comma-joined pair', () => `Bearer ${keys.write_key}, Bearer ${keys.write_key}`],
      ['Token scheme', () => `Token ${keys.write_key}`],
      ['binary garbage', () => 'Bearer \u00ff\u00fe\u00fd'],
    ])('garbled Authorization header (%s): 401', async (_what, header) => {
      const body = Buffer.from(batchOf());
      const r = await rawPost({ authorization: header(), 'content-type': 'application/json', 'content-length': String(body.length) }, [body]);
      expectError(r, 401, 'unauthorized', /valid write key is required: Authorization: Bearer <write key>/);
    });

    it('a read key used to write: 401', async () => {
      expectError(await post(batchOf(), { key: keys.read_key }), 401, 'unauthorized', /valid write key is required/);
    });

    it('the admin token used to write: 401', async () => {
      expectError(await post(batchOf(), { key: stack.adminToken }), 401, 'unauthorized', /valid write key is required/);
    });

    it('another app’s read key: 401', async () => {
      expectError(await post(batchOf(), { key: otherKeys.read_key }), 401, 'unauthorized', /valid write key is required/);
    });

    it('body over MAX_BODY_BYTES (Content-Length): 413, saying the limit', async () => {
      // Well-formed events with 4 KiB properties each: ~80 KB of JSON.
      const events = Array.from({ length: 20 }, () => ({ ...wouldBeValid(), properties: { pad: 'p'.repeat(4000) } }));
      const body = JSON.stringify({ events });
      expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES);
      expectError(await post(body), 413, 'payload_too_large', new RegExp(`at most ${MAX_BODY_BYTES} bytes allowed`));
    });

    it('body limit edge: exactly MAX_BODY_BYTES is read (400 for its content), one byte more is 413', async () => {
      const body = (n: number) => {
        const head = '{"events":[],"pad":1';
        return head + ' '.repeat(n - head.length - 1) + '}';
      };
      expect(Buffer.byteLength(body(MAX_BODY_BYTES))).toBe(MAX_BODY_BYTES);
      expectError(await post(body(MAX_BODY_BYTES)), 400, 'invalid_body', /unknown body field\(s\) pad/);
      expectError(await post(body(MAX_BODY_BYTES + 1)), 413, 'payload_too_large', /at most 65536 bytes allowed/);
    });

    it('chunked body (no Content-Length) growing past MAX_BODY_BYTES: 413', async () => {
      const head = Buffer.from(`{"events":[${JSON.stringify(wouldBeValid())}]`);
      const chunks = [head, ...Array.from({ length: 10 }, () => Buffer.alloc(10_000, ' ')), Buffer.from('}')];
      const r = await rawPost({ authorization: `Bearer ${keys.write_key}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks);
      expectError(r, 413, 'payload_too_large', /larger than 65536 bytes; at most 65536 bytes allowed/);
    });

    it('gzip bomb (small on the wire, inflating past the limit): 413', async () => {
      // Valid JSON once inflated: a would-be-valid event and 10 MB of white space.
      const json = Buffer.concat([Buffer.from(`{"events":[${JSON.stringify(wouldBeValid())}]`), Buffer.alloc(10 * 1024 * 1024, ' '), Buffer.from('}')]);
      const bomb = zlib.gzipSync(json, { level: 9 });
      expect(bomb.length).toBeLessThan(MAX_BODY_BYTES);
      const r = await post(bomb, { headers: { 'content-encoding': 'gzip' } });
      expectError(r, 413, 'payload_too_large', /once decompressed; at most 65536 bytes allowed/);
    });

    it('invalid gzip data: 400', async () => {
      expectError(await post(batchOf(), { headers: { 'content-encoding': 'gzip' } }), 400, 'invalid_body', /invalid gzip data/);
    });

    it('truncated gzip data: 400', async () => {
      const gz = zlib.gzipSync(JSON.stringify({ events: Array.from({ length: 20 }, wouldBeValid) }));
      expectError(await post(gz.subarray(0, gz.length - 10), { headers: { 'content-encoding': 'gzip' } }), 400, 'invalid_body', /invalid gzip data/);
    });

    it.each([
      ['br', (b: string) => zlib.brotliCompressSync(b)],
      ['deflate', (b: string) => zlib.deflateSync(b)],
      ['compress', (b: string) => Buffer.from(b)],
      ['gzip, br', (b: string) => zlib.gzipSync(b)],
    ])('unsupported Content-Encoding %s: 415, naming the supported ones', async (encoding, encode) => {
      const r = await post(encode(batchOf()), { headers: { 'content-encoding': encoding } });
      expectError(r, 415, 'unsupported_media_type', /is not supported; use gzip or none/);
    });

    it('more than MAX_BATCH_EVENTS events: 413, saying the limit', async () => {
      const r = await post(batchOf(MAX_BATCH_EVENTS + 1));
      expectError(r, 413, 'payload_too_large', new RegExp(`${MAX_BATCH_EVENTS + 1} events in one request; at most ${MAX_BATCH_EVENTS} allowed`));
    });
  });

  describe('events rejected one by one (202, each in rejected and in the DLQ)', () => {
    it('wrong types', async () => {
      await sendBad(
        [
          base('launch', { ts: true }),
          base('launch', { event_id: 12345 }),
          base('launch', { device_id: 42 }),
          base('launch', { app_id: ['bad-input'] }),
          base('purchase', { revenue: '4.99' }),
          base('launch', { properties: ['a', 'b'] }),
          base('launch', { country: 49 }),
          base('launch', { ts: { ms: 1 } }),
        ],
        [
          /^ts: must be epoch milliseconds \(a non-negative integer\) or an ISO-8601 time$/,
          /^event_id: must be string$/,
          /^device_id: must be string$/,
          /^app_id: must be string$/,
          /^revenue: must be number$/,
          /^properties: must be an object$/,
          /^country: must be string$/,
          /^ts: must be epoch milliseconds/,
        ],
      );
    });

    it('missing required fields, for every type', async () => {
      await sendBad(
        [
          base('launch', { device_id: undefined }),
          base('launch', { ts: undefined }),
          base('launch', { app_id: undefined }),
          base('launch', { event_id: undefined }),
          base('launch', { type: undefined }),
          base('click', { campaign_id: undefined }),
          base('impression', { channel: undefined }),
          base('event', { name: undefined }),
          base('purchase', { revenue: undefined }),
          base('purchase', { currency: null }),
          base('error', { error_message: undefined }),
          base('error', { error_type: undefined }),
        ],
        [
          /^device_id: is required$/,
          /^ts: is required$/,
          /^app_id: is required$/,
          /^event_id: is required$/,
          /^type: must be one of impression, click, install, launch, event, purchase, error$/,
          /^campaign_id: is required for click events$/,
          /^channel: is required for impression events$/,
          /^name: is required for custom events \(type "event"\)$/,
          /^revenue: is required for purchases$/,
          /^currency: is required for purchases$/,
          /^error_message: is required for errors$/,
          /^error_type: is required for errors$/,
        ],
      );
    });

    it('lengths: event_id over 64, empty event_id, device_id over 128, campaign_id over 128', async () => {
      await sendBad(
        [base('launch', { event_id: 'e'.repeat(65) }), base('launch', { event_id: '' }), base('launch', { device_id: 'd'.repeat(129) }), base('click', { campaign_id: 'c'.repeat(129) })],
        [/^event_id: must have at most 64 characters$/, /^event_id: must not be empty$/, /^device_id: must have at most 128 characters$/, /^campaign_id: must have at most 128 characters$/],
      );
    });

    it('unknown event fields, named, pointing at properties', async () => {
      await sendBad(
        [base('launch', { user_level: 3 }), base('launch', { Country: 'DE', extra: null })],
        [/^unknown field\(s\) user_level \(custom data belongs in properties\)$/, /^unknown field\(s\) Country, extra \(custom data belongs in properties\)$/],
      );
    });

    it('__proto__ as an event field is an unknown field', async () => {
      const e = base('launch');
      const json = JSON.stringify({ events: [e] }).replace('{"event_id"', '{"__proto__":{"admin":true},"event_id"');
      const r = await post(json);
      expect(r.status).toBe(202);
      const body = r.json as { accepted: number; rejected: Rejection[] };
      expect(body).toEqual({ accepted: 0, rejected: [{ index: 0, event_id: e.event_id, reason: expect.stringMatching(/^unknown field\(s\) __proto__/) }] });
      expectedDlq.push({ app_id: APP, index: 0, event_id: e.event_id as string, reason: body.rejected[0].reason });
    });

    it('future timestamps: corrected ts more than 1 h after received_at', async () => {
      const now = Date.now();
      await sendBad(
        [
          base('launch', { ts: now + 2 * 3_600_000 }),
          base('launch', { ts: new Date(now + 3 * 3_600_000).toISOString() }),
          // Plausible ts, but sent_at 2 h in the past: corrected ts = ts + 2 h.
          base('launch', { ts: now, sent_at: now - 2 * 3_600_000 }),
          // Beyond the range of Date (a valid epoch-ms integer): rejected, not a 500.
          base('launch', { ts: 9_000_000_000_000_000 }),
        ],
        [/^ts: corrected event time .* is more than 1 hour after the server receive time$/, /more than 1 hour after/, /more than 1 hour after/, /^ts: corrected event time 9000000000000000 ms is more than 1 hour after/],
      );
    });

    it('a batch sent_at making every event future', async () => {
      const now = Date.now();
      await sendBad([base('launch', { ts: now }), base('install', { ts: now - 1000 })], [/more than 1 hour after/, /more than 1 hour after/], { sent_at: now - 5 * 3_600_000 });
    });

    it('timestamps before 2000-01-01', async () => {
      await sendBad(
        [
          base('launch', { ts: '1999-12-31T23:59:59.999Z' }),
          base('launch', { ts: 0 }),
          base('launch', { ts: 946_684_799_999 }),
          // Plausible ts, sent_at 30 years ahead: corrected ts lies before 2000.
          base('launch', { ts: Date.now(), sent_at: Date.now() + 30 * 365 * 86_400_000 }),
        ],
        [/^ts: corrected event time 1999-12-31T23:59:59\.999Z is before 2000-01-01$/, /before 2000-01-01/, /before 2000-01-01/, /before 2000-01-01/],
      );
    });

    it('invalid times: impossible dates, floats, negatives', async () => {
      const rule = /^ts: must be epoch milliseconds \(a non-negative integer\) or an ISO-8601 time$/;
      await sendBad(
        [base('launch', { ts: '2026-02-30T10:00:00Z' }), base('launch', { ts: Date.now() + 0.5 }), base('launch', { ts: -1 }), base('launch', { ts: 'now' }), base('launch', { sent_at: 'soon' })],
        [rule, rule, rule, rule, /^sent_at: must be epoch milliseconds/],
      );
    });

    it('events that are not objects: a string, a number, null, an array, a boolean', async () => {
      const events = ['launch', 42, null, [base('launch')], true];
      const rejected = await sendBad(events, [
        /^event must be a JSON object, got string$/,
        /^event must be a JSON object, got number$/,
        /^event must be a JSON object, got null$/,
        /^event must be a JSON object, got array$/,
        /^event must be a JSON object, got boolean$/,
      ]);
      expect(rejected.map((r) => r.event_id)).toEqual([null, null, null, null, null]);
    });

    it('properties over 8 KiB serialised', async () => {
      await sendBad([base('launch', { properties: { blob: 'b'.repeat(9000) } })], [/^properties: is 9011 bytes serialised; at most 8192 allowed$/]);
    });

    it('properties and events nested too deeply to serialise: rejected one by one, not a 500', async () => {
      const nested = '['.repeat(20_000) + ']'.repeat(20_000);
      const e = base('launch');
      const r = await post(JSON.stringify({ events: [e] }).replace('"device_id"', `"properties":{"x":${nested}},"device_id"`));
      expect({ status: r.status, body: r.json }).toEqual({
        status: 202,
        body: { accepted: 0, rejected: [{ index: 0, event_id: e.event_id, reason: expect.stringMatching(/^properties: .*nested/) }] },
      });
      expectedDlq.push({ app_id: APP, index: 0, event_id: e.event_id as string, reason: (r.json as { rejected: Rejection[] }).rejected[0].reason });

      const r2 = await post(`{"events":[${nested}]}`);
      expect({ status: r2.status, body: r2.json }).toEqual({
        status: 202,
        body: { accepted: 0, rejected: [{ index: 0, event_id: null, reason: 'event must be a JSON object, got array' }] },
      });
      expectedDlq.push({ app_id: APP, index: 0, event_id: null, reason: 'event must be a JSON object, got array' });
    });

    it('app_id of another app (existing or not)', async () => {
      await sendBad(
        [base('launch', { app_id: OTHER_APP }), base('launch', { app_id: 'no-such-app' }), base('launch', { app_id: 'BAD-INPUT' })],
        [
          new RegExp(`^app_id: "${OTHER_APP}" does not match the write key's app ${APP}$`),
          /^app_id: "no-such-app" does not match the write key's app bad-input$/,
          /does not match the write key's app bad-input$/,
        ],
      );
    });

    it('another app’s write key with this app’s events: each rejected, and dead-lettered under the key’s app', async () => {
      await sendBad([base('launch')], [new RegExp(`^app_id: "${APP}" does not match the write key's app ${OTHER_APP}$`)], { key: otherKeys.write_key, app: OTHER_APP });
    });

    it('invalid type values', async () => {
      const rule = /^type: must be one of impression, click, install, launch, event, purchase, error$/;
      await sendBad([base('launch', { type: 'pageview' }), base('launch', { type: 'LAUNCH' }), base('launch', { type: '' }), base('launch', { type: 7 })], [rule, rule, rule, rule]);
    });

    it('revenue: negative, too large', async () => {
      await sendBad(
        [base('purchase', { revenue: -0.01 }), base('purchase', { revenue: -100 }), base('purchase', { revenue: 1e20 })],
        [/^revenue: must be a number >= 0$/, /^revenue: must be a number >= 0$/, /^revenue: must be a number from 0 to 1000000000000/],
      );
    });

    it('bad country and currency codes', async () => {
      const country = /^country: must be an ISO-3166 alpha-2 code$/;
      const currency = /^currency: must be an ISO-4217 code$/;
      await sendBad(
        [base('launch', { country: 'DEU' }), base('launch', { country: 'D' }), base('launch', { country: '12' }), base('purchase', { currency: 'EURO' }), base('purchase', { currency: '€' })],
        [country, country, country, currency, currency],
      );
    });

    it('every failing field of one event is named', async () => {
      await sendBad([{ event_id: 'bad-multi', app_id: APP, type: 'click', ts: 'never', device_id: '', country: 'Germany' }], [/^(?=.*ts: )(?=.*device_id: )(?=.*country: )(?=.*campaign_id: )/]);
    });

    it('a gzip body is decoded and its bad events rejected one by one', async () => {
      await sendBad([base('launch', { device_id: undefined }), base('event', { name: undefined })], [/^device_id: is required$/, /^name: is required for custom events/], {
        gzip: true,
      });
    });

    it('an empty batch: 202, nothing accepted, nothing rejected', async () => {
      const r = await post(JSON.stringify({ events: [] }));
      expect({ status: r.status, body: r.json }).toEqual({ status: 202, body: { accepted: 0, rejected: [] } });
    });
  });

  describe('afterwards', () => {
    it('the DLQ holds every rejected event with its reason, and nothing else', async () => {
      const messages = await readTopic(stack.cfg.kafka.topics.dlq);
      const pool = messages.map((m) => ({ key: m.key, value: JSON.parse(m.value) as ExpectedDlq & { received_at: number; raw: string } }));
      for (const m of pool) {
        expect(Object.keys(m.value).sort()).toEqual(['app_id', 'event_id', 'index', 'raw', 'reason', 'received_at']);
        expect(m.key).toBe(m.value.app_id);
        expect(typeof m.value.received_at).toBe('number');
      }
      const missing: ExpectedDlq[] = [];
      for (const want of expectedDlq) {
        const i = pool.findIndex(
          (m) =>
            m.value.app_id === want.app_id &&
            m.value.index === want.index &&
            m.value.event_id === want.event_id &&
            m.value.reason === want.reason &&
            (want.raw === undefined || m.value.raw === want.raw),
        );
        if (i < 0) missing.push(want);
        else pool.splice(i, 1);
      }
      expect(missing).toEqual([]);
      expect(pool.map((m) => m.value)).toEqual([]);
      expect(expectedDlq.length).toBeGreaterThan(60);
    });

    it('nothing reached the events topic', async () => {
      const leaked = (await readTopic(stack.cfg.kafka.topics.events)).map((m) => (JSON.parse(m.value) as { event_id: string }).event_id);
      expect(leaked).toEqual([]);
    });
  });
});

// chDB binds one data directory per process: the second stack starts once the main one stopped.
describe('rate limits (a second stack with low limits, so they cannot touch the other cases)', () => {
  let limitedStack: TestStack;
  const dlqOfLimited: ExpectedDlq[] = [];

  beforeAll(async () => {
    limitedStack = await startTestStack({
      role: 'ingest',
      env: { RATE_LIMIT_REQUESTS_PER_S: String(RATE_REQUESTS_PER_S), RATE_LIMIT_EVENTS_PER_S: String(RATE_EVENTS_PER_S) },
    });
  });
  afterAll(async () => {
    await limitedStack?.stop();
  });

  it('over RATE_LIMIT_REQUESTS_PER_S for a key: 429 with Retry-After; other keys unaffected', async () => {
    const limited = await createTestApp(limitedStack, { app_id: 'rate-req' });
    const bystander = await createTestApp(limitedStack, { app_id: 'rate-bystander' });
    const url = limitedStack.url;
    // Bodies are malformed JSON: a request within the limit gets 400, one over it 429.
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 20 }, () => post('{"events": [', { key: limited.write_key, url })));
    const elapsedS = (Date.now() - started) / 1000;
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([400, 429]));
    // Served: at most the burst (one second's worth) plus what refilled while the requests ran.
    expect(replies.filter((r) => r.status === 400).length).toBeLessThanOrEqual(RATE_REQUESTS_PER_S + Math.ceil(elapsedS * RATE_REQUESTS_PER_S));
    const limitedReplies = replies.filter((r) => r.status === 429);
    for (const r of limitedReplies) {
      expectError(r, 429, 'rate_limited', new RegExp(`over ${RATE_REQUESTS_PER_S} requests/s for this key`));
      expect(r.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    }
    // Another key is not limited by this one's traffic.
    expectError(await post('{"events": [', { key: bystander.write_key, url }), 400, 'invalid_body', /not valid JSON/);
    // After Retry-After, the key is served again.
    const wait = Math.max(...limitedReplies.map((r) => Number(r.headers.get('retry-after'))));
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    expectError(await post('{"events": [', { key: limited.write_key, url }), 400, 'invalid_body', /not valid JSON/);
  });

  it('over RATE_LIMIT_EVENTS_PER_S for a key: 429 with Retry-After', async () => {
    const appId = 'rate-ev';
    const limited = await createTestApp(limitedStack, { app_id: appId });
    const url = limitedStack.url;
    // 50 events on a full bucket of 10 pass and leave it 40 in debt (their events are
    // rejected one by one and dead-lettered); the next event then waits ~4 s.
    const events = Array.from({ length: 50 }, () => base('launch', { app_id: appId, device_id: undefined }));
    const first = await post(JSON.stringify({ events }), { key: limited.write_key, url });
    expect({ status: first.status, body: first.json }).toEqual({
      status: 202,
      body: { accepted: 0, rejected: events.map((e, index) => ({ index, event_id: e.event_id, reason: 'device_id: is required' })) },
    });
    for (const [index, e] of events.entries()) dlqOfLimited.push({ app_id: appId, index, event_id: e.event_id as string, reason: 'device_id: is required', raw: JSON.stringify(e) });

    const second = await post(JSON.stringify({ events: [base('launch', { app_id: appId, device_id: undefined })] }), { key: limited.write_key, url });
    expectError(second, 429, 'rate_limited', new RegExp(`over ${RATE_EVENTS_PER_S} events/s for this key`));
    // The debt of 40 events takes ~4 s to repay (less whatever refilled in between).
    expect(second.headers.get('retry-after')).toMatch(/^[1-5]$/);
  });

  it('the second stack’s DLQ holds the rejected events, its events topic nothing', async () => {
    const dlq = (await readTopic(limitedStack.cfg.kafka.topics.dlq)).map((m) => JSON.parse(m.value) as ExpectedDlq & { received_at: number });
    expect(dlq.map(({ app_id, index, event_id, reason, raw }) => ({ app_id, index, event_id, reason, raw }))).toEqual(dlqOfLimited);
    expect(await readTopic(limitedStack.cfg.kafka.topics.events)).toEqual([]);
  });
});
