/**
 * The admin app routes of DESIGN.md section 7 on a running stack: POST creates an app and
 * shows its keys once (stored hashed), GET lists apps without keys and with ISO-8601 times,
 * PATCH changes settings; bad input and a bad admin token change nothing.
 */
import { adminRequest, startTestStack, type TestStack } from '../support/test-stack';

jest.setTimeout(120_000);

describe('admin apps', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ role: 'serving' });
  });
  afterAll(async () => stack?.stop());

  it('creates an app (201, keys once), refuses a second one (409), lists it without keys, patches its settings', async () => {
    const created = await adminRequest(stack, 'POST', '/v1/admin/apps', { app_id: 'shop', lookback_days: 3, ip_blocklist: ['203.0.113.0/24'] });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      app_id: 'shop',
      write_key: expect.stringMatching(/^wk_/),
      read_key: expect.stringMatching(/^rk_/),
      lookback_days: 3,
      ip_blocklist: ['203.0.113.0/24'],
      disabled: false,
    });

    const again = await adminRequest(stack, 'POST', '/v1/admin/apps', { app_id: 'shop' });
    expect(again.status).toBe(409);
    expect(again.json.error).toEqual({ code: 'conflict', message: expect.stringContaining('shop') });

    const list = await adminRequest(stack, 'GET', '/v1/admin/apps');
    expect(list.status).toBe(200);
    const shop = list.json.apps.find((a: { app_id: string }) => a.app_id === 'shop');
    expect(shop).toEqual({ app_id: 'shop', lookback_days: 3, ip_blocklist: ['203.0.113.0/24'], disabled: false, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect(Math.abs(Date.parse(shop.created_at) - Date.now())).toBeLessThan(120_000);
    // Keys are stored hashed: neither key appears anywhere in the listing.
    const text = JSON.stringify(list.json);
    expect(text).not.toContain(created.json.write_key);
    expect(text).not.toContain(created.json.read_key);

    const patched = await adminRequest(stack, 'PATCH', '/v1/admin/apps/shop', { lookback_days: 10, ip_blocklist: [] });
    expect(patched).toEqual({ status: 200, json: { app_id: 'shop', lookback_days: 10, ip_blocklist: [], disabled: false } });
  });

  it.each([
    ['an invalid app_id', 'POST', '/v1/admin/apps', { app_id: 'Bad App' }, 400],
    ['an unknown body key', 'POST', '/v1/admin/apps', { app_id: 'x1', colour: 'red' }, 400],
    ['an invalid CIDR', 'POST', '/v1/admin/apps', { app_id: 'x2', ip_blocklist: ['10.0.0.0/33'] }, 400],
    ['a lookback of 0 days', 'PATCH', '/v1/admin/apps/shop', { lookback_days: 0 }, 400],
    ['a lookback over 30 days on create', 'POST', '/v1/admin/apps', { app_id: 'x3', lookback_days: 31 }, 400],
    ['a lookback over 30 days on update', 'PATCH', '/v1/admin/apps/shop', { lookback_days: 31 }, 400],
    ['a patch of an unknown app', 'PATCH', '/v1/admin/apps/nope', { lookback_days: 2 }, 404],
    ['a patch without a body', 'PATCH', '/v1/admin/apps/shop', undefined, 400],
  ])('answers %s with a clear error and changes nothing', async (_what, method, path, body, status) => {
    const before = await adminRequest(stack, 'GET', '/v1/admin/apps');
    const res = await adminRequest(stack, method, path, body);
    expect(res.status).toBe(status);
    expect(res.json.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    expect(await adminRequest(stack, 'GET', '/v1/admin/apps')).toEqual(before);
  });

  it('reads a JSON body sent without a JSON content type (curl -d), as the collector does', async () => {
    const res = await fetch(`${stack.url}/v1/admin/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ app_id: 'form-sent', lookback_days: 2 }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ app_id: 'form-sent', lookback_days: 2 });
  });

  it.each<[string, { query?: string; body: string }, number, string, RegExp]>([
    ['malformed JSON', { body: '{"app_id": ' }, 400, 'invalid_body', /not valid JSON.*send a JSON object/],
    ['a body over the limit', { body: JSON.stringify({ app_id: 'big', ip_blocklist: Array(200_000).fill('10.0.0.0/8') }) }, 413, 'payload_too_large', /at most \d+ bytes/],
    ['a query parameter', { query: '?dry_run=1', body: JSON.stringify({ app_id: 'q1' }) }, 400, 'bad_request', /unknown parameter\(s\) dry_run/],
  ])('answers %s with the code and a message that says what is allowed, and changes nothing', async (_what, req, status, code, message) => {
    const before = await adminRequest(stack, 'GET', '/v1/admin/apps');
    const res = await fetch(`${stack.url}/v1/admin/apps${req.query ?? ''}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: req.body,
    });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: expect.stringMatching(message) } });
    expect(await adminRequest(stack, 'GET', '/v1/admin/apps')).toEqual(before);
  });

  it('refuses query parameters on the admin GET routes instead of ignoring them', async () => {
    for (const path of ['/v1/admin/apps?app_id=shop', '/v1/admin/batch/runs?status=failed', '/v1/admin/boundary?day=2026-01-01']) {
      const res = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/admin routes take no query parameters/);
    }
  });

  it('answers 401 to a missing or wrong admin token', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789']) {
      const res = await fetch(`${stack.url}/v1/admin/apps`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
  });
});
