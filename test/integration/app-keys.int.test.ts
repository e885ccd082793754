/**
 * Key rotation, disabling and concurrent creation of apps (PATCH /v1/admin/apps/{app},
 * POST /v1/admin/apps) on a real collector, serving and ClickHouse: a rotated key works
 * beside its successor for KEY_GRACE_SECONDS and then gets 401; a disabled app's keys get
 * 401 for writes and reads; two creates of one app at once give exactly one 201, within one
 * process and between two registries (two processes) on one ClickHouse. Live streams: at
 * most MAX_STREAMS_PER_KEY per key, and a stream ends when its key is rotated out or its app
 * disabled.
 */
import { createAppRegistry } from '../../infra/apps/app-registry';
import { AppError } from '../../infra/errors';
import { adminRequest, createTestApp, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(120_000);

const GRACE_S = 2;
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ role: ['ingest', 'serving'], env: { KEY_GRACE_SECONDS: String(GRACE_S), MAX_STREAMS_PER_KEY: '2' } });
});
afterAll(async () => stack?.stop());

const write = async (appId: string, key: string) =>
  (
    await fetch(`${stack.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ event_id: `e-${Math.random()}`, app_id: appId, type: 'launch', ts: Date.now(), device_id: 'd1' }] }),
    })
  ).status;
const read = async (appId: string, key: string) => (await fetch(`${stack.url}/v1/apps/${appId}/realtime`, { headers: { authorization: `Bearer ${key}` } })).status;

it('rotates the write key: the new key is shown once, the old one works until the grace period ends', async () => {
  const app = await createTestApp(stack, { app_id: 'rot-w' });
  const before = Date.now();
  const res = await adminRequest(stack, 'PATCH', '/v1/admin/apps/rot-w', { rotate: ['write_key'] });
  expect(res.status).toBe(200);
  expect(res.json).toEqual({
    app_id: 'rot-w',
    lookback_days: 7,
    ip_blocklist: [],
    disabled: false,
    write_key: expect.stringMatching(/^wk_/),
    old_keys_valid_until: expect.any(String),
  });
  const until = Date.parse(res.json.old_keys_valid_until);
  expect(until).toBeGreaterThanOrEqual(before + GRACE_S * 1000);
  expect(res.json.write_key).not.toBe(app.write_key);

  expect(await write('rot-w', res.json.write_key)).toBe(202);
  expect(await write('rot-w', app.write_key)).toBe(202);
  expect(await read('rot-w', app.read_key)).toBe(200); // the read key was not rotated
  await waitFor(async () => (Date.now() > until ? true : undefined), { timeoutMs: 10_000, what: 'the grace period' });
  expect(await write('rot-w', app.write_key)).toBe(401);
  expect(await write('rot-w', res.json.write_key)).toBe(202);
  // The keys never appear in the listing.
  const list = JSON.stringify((await adminRequest(stack, 'GET', '/v1/admin/apps')).json);
  expect(list).not.toContain(res.json.write_key);
});

it('rotates the read key the same way', async () => {
  const app = await createTestApp(stack, { app_id: 'rot-r' });
  const res = await adminRequest(stack, 'PATCH', '/v1/admin/apps/rot-r', { rotate: ['read_key'] });
  expect(res.json.read_key).toMatch(/^rk_/);
  expect(res.json.write_key).toBeUndefined();
  expect(await read('rot-r', res.json.read_key)).toBe(200);
  expect(await read('rot-r', app.read_key)).toBe(200);
  const until = Date.parse(res.json.old_keys_valid_until);
  await waitFor(async () => (Date.now() > until ? true : undefined), { timeoutMs: 10_000, what: 'the grace period' });
  expect(await read('rot-r', app.read_key)).toBe(401);
});

it('disables an app (401 for its write and read keys) and enables it again', async () => {
  const app = await createTestApp(stack, { app_id: 'off' });
  const off = await adminRequest(stack, 'PATCH', '/v1/admin/apps/off', { disabled: true });
  expect(off).toEqual({ status: 200, json: { app_id: 'off', lookback_days: 7, ip_blocklist: [], disabled: true } });
  expect(await write('off', app.write_key)).toBe(401);
  expect(await read('off', app.read_key)).toBe(401);
  const listed = (await adminRequest(stack, 'GET', '/v1/admin/apps')).json.apps.find((a: { app_id: string }) => a.app_id === 'off');
  expect(listed.disabled).toBe(true);

  await adminRequest(stack, 'PATCH', '/v1/admin/apps/off', { disabled: false });
  expect(await write('off', app.write_key)).toBe(202);
  expect(await read('off', app.read_key)).toBe(200);
});

it.each([
  ['an unknown key name', { rotate: ['admin_token'] }],
  ['an empty rotation', { rotate: [] }],
  ['a repeated key name', { rotate: ['write_key', 'write_key'] }],
  ['a non-boolean disabled', { disabled: 'yes' }],
])('refuses %s with 400 and changes nothing', async (_what, body) => {
  const app = await createTestApp(stack, { app_id: `bad-${Math.random().toString(36).slice(2, 8)}` });
  const before = await adminRequest(stack, 'GET', '/v1/admin/apps');
  const res = await adminRequest(stack, 'PATCH', `/v1/admin/apps/${app.app_id}`, body);
  expect(res.status).toBe(400);
  expect(await adminRequest(stack, 'GET', '/v1/admin/apps')).toEqual(before);
  expect(await write(app.app_id, app.write_key)).toBe(202);
});

it('answers two concurrent creates of one app with exactly one 201', async () => {
  const results = await Promise.all([1, 2].map(() => adminRequest(stack, 'POST', '/v1/admin/apps', { app_id: 'twice' })));
  expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  const winner = results.find((r) => r.status === 201)?.json;
  expect(await write('twice', winner.write_key)).toBe(202);
});

it('lets exactly one of two processes create an app at once (one registry each, one ClickHouse)', async () => {
  const ch = stack.running.clickhouse;
  if (!ch) throw new Error('the stack has no ClickHouse');
  const registries = [1, 2].map(() => createAppRegistry(ch, { defaultLookbackDays: 7 }));
  try {
    const outcomes = await Promise.allSettled(registries.map((r) => r.create('raced', {})));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toBeInstanceOf(AppError);
    expect((lost[0].reason as AppError).code).toBe('conflict');
    const keys = (won[0] as PromiseFulfilledResult<{ write_key: string }>).value;
    await registries[1].refresh();
    expect(await registries[1].authenticate(keys.write_key, 'write')).toMatchObject({ app_id: 'raced' });
  } finally {
    for (const r of registries) r.close();
  }
});

/** A live stream (SSE) read until it ends; `ended` resolves with everything it received. */
async function openStream(appId: string, key: string): Promise<{ status: number; ended: Promise<string>; close(): void }> {
  const ac = new AbortController();
  const res = await fetch(`${stack.url}/v1/apps/${appId}/realtime/stream?key=${key}`, { signal: ac.signal });
  const ended = (async () => {
    if (res.status !== 200) return res.text();
    let text = '';
    const reader = res.body!.getReader();
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return text;
      text += new TextDecoder().decode(chunk.value);
    }
  })();
  return { status: res.status, ended, close: () => ac.abort() };
}

describe('live streams', () => {
  it('holds at most MAX_STREAMS_PER_KEY streams per key (429 beyond, a slot frees when one closes)', async () => {
    const app = await createTestApp(stack, { app_id: 'streams' });
    const a = await openStream('streams', app.read_key);
    const b = await openStream('streams', app.read_key);
    const c = await openStream('streams', app.read_key);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
    expect(JSON.parse(await c.ended).error.message).toMatch(/at most 2 \(MAX_STREAMS_PER_KEY\)/);
    a.close();
    const d = await waitFor(async () => {
      const s = await openStream('streams', app.read_key);
      if (s.status === 200) return s;
      s.close();
      return undefined;
    }, { timeoutMs: 10_000, what: 'a free stream slot' });
    for (const s of [b, d]) s.close();
  });

  it('ends a stream when its key is rotated out, after the grace period', async () => {
    const app = await createTestApp(stack, { app_id: 'stream-rot' });
    const s = await openStream('stream-rot', app.read_key);
    expect(s.status).toBe(200);
    const rotated = await adminRequest(stack, 'PATCH', '/v1/admin/apps/stream-rot', { rotate: ['read_key'] });
    const text = await s.ended;
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(rotated.json.old_keys_valid_until));
    expect(text).toMatch(/event: end\ndata: .*rotated out or the app disabled/);
    expect(text).toContain('data: {'); // it streamed updates during the grace period
    expect((await openStream('stream-rot', app.read_key)).status).toBe(401);
  });

  it('ends a stream when its app is disabled', async () => {
    const app = await createTestApp(stack, { app_id: 'stream-off' });
    const s = await openStream('stream-off', app.read_key);
    expect(s.status).toBe(200);
    await adminRequest(stack, 'PATCH', '/v1/admin/apps/stream-off', { disabled: true });
    expect(await s.ended).toMatch(/event: end\n/);
  });
});

it('answers known keys from memory while ClickHouse is unreachable, and an unknown key with 503 until it is back', async () => {
  const ch = stack.running.clickhouse;
  if (!ch) throw new Error('the stack has no ClickHouse');
  // The stack's real client, failing on demand: ClickHouse "down" for this registry only.
  let down = false;
  const flaky = new Proxy(ch, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (down ? Promise.reject(new Error('ClickHouse is down')) : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  const registry = createAppRegistry(flaky, { defaultLookbackDays: 7 });
  try {
    const app = await createTestApp(stack, { app_id: 'cached-keys' });
    await registry.refresh();
    down = true;
    expect(await registry.authenticate(app.write_key, 'write')).toMatchObject({ app_id: 'cached-keys' });
    expect(await registry.authenticate(app.read_key, 'read')).toMatchObject({ app_id: 'cached-keys' });
    await expect(registry.authenticate('wk_not-a-key', 'write')).rejects.toMatchObject({ code: 'unavailable', status: 503 });
    down = false;
    await waitFor(async () => ((await registry.authenticate('wk_not-a-key', 'write').then(() => 'judged', () => undefined)) ? true : undefined), { timeoutMs: 5000, what: 'ClickHouse back' });
    expect(await registry.authenticate('wk_not-a-key', 'write')).toBeUndefined();
  } finally {
    registry.close();
  }
});
