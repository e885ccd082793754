/**
 * INTERNAL_PORT (DESIGN.md section 8): `/metrics` and `/v1/admin/*` are served only on the
 * internal listener, never on PORT, while the public API stays on PORT; serving's /ready
 * waits only for what it uses. And a role process
 * refuses to start without ADMIN_TOKEN, since it would generate a token no other process shares.
 */
import { loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { startWeir, StartupError } from '../../cli/start';
import { createTestApp, startTestStack, testEnv, type TestStack } from '../support/test-stack';
import { removeScratchDir } from '../support/scratch-dir';

jest.setTimeout(120_000);

describe('a serving process with INTERNAL_PORT', () => {
  let stack: TestStack;
  let adminUrl: string;
  beforeAll(async () => {
    stack = await startTestStack({ role: 'serving', env: { INTERNAL_PORT: '0' } });
    adminUrl = stack.running.adminUrl;
  });
  afterAll(async () => stack?.stop());

  const get = async (url: string, token?: string) => (await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} })).status;

  it('serves the admin routes and /metrics on the internal port only', async () => {
    expect(adminUrl).not.toBe(stack.url);
    const app = await createTestApp({ url: adminUrl, adminToken: stack.adminToken }, { app_id: 'inside' });

    expect(await get(`${adminUrl}/v1/admin/apps`, stack.adminToken)).toBe(200);
    expect(await get(`${adminUrl}/metrics`)).toBe(200);
    expect(await get(`${stack.url}/v1/admin/apps`, stack.adminToken)).toBe(404);
    expect(await get(`${stack.url}/v1/admin/boundary`, stack.adminToken)).toBe(404);
    expect(await get(`${stack.url}/metrics`)).toBe(404);

    // The public API stays public, and is not on the internal port.
    expect(await get(`${stack.url}/v1/apps/inside/realtime`, app.read_key)).toBe(200);
    expect(await get(`${adminUrl}/v1/apps/inside/realtime`, app.read_key)).toBe(404);
    for (const url of [stack.url, adminUrl]) expect(await get(`${url}/health`)).toBe(200);
  });

  it('answers 405 with Allow for a method a path does not take, on each listener for its own routes', async () => {
    const del = await fetch(`${stack.url}/v1/apps/inside/realtime`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    expect(((await del.json()) as { error: unknown }).error).toEqual({ code: 'method_not_allowed', message: expect.stringContaining('allowed: GET, HEAD') });
    const put = await fetch(`${adminUrl}/v1/admin/apps`, { method: 'PUT', headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    // The admin routes do not exist on the public port: 404 there, whatever the method.
    expect((await fetch(`${stack.url}/v1/admin/apps`, { method: 'PUT' })).status).toBe(404);
  });

  it('is ready on ClickHouse alone: serving reads nothing from Kafka', async () => {
    const res = await fetch(`${stack.url}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { clickhouse: 'ok' } });
  });
});

it('refuses to start a role without ADMIN_TOKEN', async () => {
  const { env, dataDir } = testEnv();
  delete env.ADMIN_TOKEN;
  try {
    const cfg = loadConfig(env);
    await expect(startWeir(cfg, { role: 'serving', demo: false }, createLogger('silent'))).rejects.toThrow(StartupError);
    await expect(startWeir(cfg, { role: 'serving', demo: false }, createLogger('silent'))).rejects.toThrow(/ADMIN_TOKEN is required with --role/);
  } finally {
    removeScratchDir(dataDir);
  }
});
