/**
 * Access and hostile input on the read API (DESIGN.md sections 6 and 7): a read key sees only
 * its own app (another app's key: 404 whether or not the app exists), write keys and garbage
 * get 401, SQL fragments and absurd values in every parameter get their documented status
 * and change nothing, the rate limit answers 429 with Retry-After, CORS preflights work.
 */
import { randomBytes } from 'node:crypto';
import { startStandaloneServing, type StandaloneServing } from '../../serving/standalone';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';

jest.setTimeout(120_000);

const ORIGIN = 'https://dash.example';
const NOW = Date.UTC(2026, 10, 24, 12);
let srv: StandaloneServing;
let dataDir: string;
const adminToken = randomBytes(16).toString('hex');
let a: { read_key: string; write_key: string };
let burst: { read_key: string };

const READ_PATHS = ['reports/hourly?from=2026-11-20&to=2026-11-21', 'reports/daily?from=2026-11-20&to=2026-11-21', 'realtime', 'errors/top', 'attributions?from=2026-11-20&to=2026-11-21'];

interface Body {
  error: { code: string; message: string };
  rows: unknown[];
}

async function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Body; headers: Headers }> {
  const res = await fetch(`${srv.url}${p}`, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON; kept as text
  }
  return { status: res.status, body: body as Body, headers: res.headers };
}
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

async function tableCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['hourly_rt', 'hourly_batch', 'apps', 'attributions_rt', 'batch_covered_days']) {
    const rs = await srv.ch.query({ query: `SELECT count() AS n FROM ${t}`, format: 'JSONEachRow' });
    out[t] = Number((await rs.json<{ n: number }>())[0].n);
  }
  return out;
}

beforeAll(async () => {
  dataDir = makeScratchDir('weir-serving-security');
  srv = await startStandaloneServing({ dataDir, adminToken, limits: { rateRequestsPerS: 300 },
    corsOrigins: [ORIGIN],
    // A frozen clock: rate-limit tokens never refill, so the 429 test does not race the machine.
    now: () => NOW,
  });
  a = await srv.apps.create('sec-a', {});
  await srv.apps.create('sec-b', {});
  burst = await srv.apps.create('sec-burst', {});
  await srv.ch.command({
    query: `INSERT INTO hourly_rt SELECT 'sec-b', toDateTime('2026-11-20 10:00:00', 'UTC'), 'click', '', 'US', '', '', '', '', 'fb', '', '', '', toUInt64(1), toInt64(0), uniqExactState('secret-device')`,
  });
});

afterAll(async () => {
  await srv?.stop();
  removeScratchDir(dataDir);
});

describe('read access', () => {
  it("answers 404 to another app's valid read key, whether or not that app exists", async () => {
    for (const p of READ_PATHS) {
      for (const app of ['sec-b', 'no-such-app', 'NOT_VALID', "x'%3B--"]) {
        const r = await get(`/v1/apps/${app}/${p}`, bearer(a.read_key));
        expect([app, p, r.status, r.body.error?.code]).toEqual([app, p, 404, 'not_found']);
        expect(JSON.stringify(r.body)).not.toContain('secret-device');
      }
    }
  });

  it('answers 401 to a missing, garbled, write or admin key', async () => {
    const bad: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      bearer('rk_nope'),
      bearer(`${a.read_key}x`),
      bearer('ü'.repeat(300)),
      bearer('x'.repeat(10_000)),
      bearer(a.write_key),
      bearer(adminToken),
    ];
    for (const p of READ_PATHS) {
      for (const h of bad) {
        const r = await get(`/v1/apps/sec-a/${p}`, h);
        expect([p, h.authorization?.slice(0, 20), r.status, r.body.error?.code]).toEqual([p, h.authorization?.slice(0, 20), 401, 'unauthorized']);
      }
    }
  });

  it('takes ?key= on the stream route only', async () => {
    expect((await get(`/v1/apps/sec-a/realtime?key=${a.read_key}`)).status).toBe(401);
    const ac = new AbortController();
    const res = await fetch(`${srv.url}/v1/apps/sec-a/realtime/stream?key=${a.read_key}`, { signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('data: ')) text += new TextDecoder().decode((await reader.read()).value);
    const update = JSON.parse(text.slice(text.indexOf('data: ') + 6).split('\n')[0]);
    expect(update).toMatchObject({ last_minute: { events: 0 }, today: { installs_by_channel: {} } });
    ac.abort();
    expect((await get(`/v1/apps/sec-b/realtime/stream?key=${a.read_key}`)).status).toBe(404);
    expect((await get(`/v1/apps/sec-a/realtime/stream?key=${a.write_key}`)).status).toBe(401);
  });
});

describe('hostile parameters', () => {
  const payloads = ["'; DROP TABLE hourly_rt; --", '1) OR (1=1', "sec-b' OR '1'='1", '{app:String}', '\u0000\u202e☃𝌆', 'x'.repeat(5000)];

  it('rejects SQL fragments, unicode and huge values in every parameter with 400 and changes nothing', async () => {
    const before = await tableCounts();
    const params: Record<string, string[]> = {
      'reports/hourly': ['from', 'to', 'metrics', 'group_by', 'tz'],
      'reports/daily': ['from', 'to', 'metrics', 'group_by', 'tz'],
      realtime: ['window', 'step'],
      'errors/top': ['window', 'limit'],
      attributions: ['from', 'to', 'outcome', 'limit', 'cursor'],
    };
    const base: Record<string, string> = { from: '2026-11-20', to: '2026-11-21' };
    for (const [route, names] of Object.entries(params)) {
      for (const name of names) {
        for (const v of payloads) {
          const q = new URLSearchParams({ ...(route.startsWith('reports') || route === 'attributions' ? base : {}), [name]: v });
          const r = await get(`/v1/apps/sec-a/${route}?${q}`, bearer(a.read_key));
          expect([route, name, v.slice(0, 30), r.status]).toEqual([route, name, v.slice(0, 30), 400]);
          expect(r.body.error.code).toBe('bad_request');
        }
      }
    }
    expect(await tableCounts()).toEqual(before);
  });

  it('treats SQL in filter values and channel as plain values: no rows, nothing leaked', async () => {
    for (const v of payloads.slice(0, 5)) {
      const q = new URLSearchParams({ from: '2026-11-20', to: '2026-11-21', 'filter.country': v, group_by: 'country' });
      const r = await get(`/v1/apps/sec-a/reports/hourly?${q}`, bearer(a.read_key));
      expect([v, r.status, r.body.rows]).toEqual([v, 200, []]);
      const at = await get(`/v1/apps/sec-a/attributions?${new URLSearchParams({ from: '2026-11-20', to: '2026-11-21', channel: v })}`, bearer(a.read_key));
      expect([v, at.status, at.body.rows]).toEqual([v, 200, []]);
    }
    const long = await get(`/v1/apps/sec-a/reports/hourly?from=2026-11-20&to=2026-11-21&filter.country=${'x'.repeat(5000)}`, bearer(a.read_key));
    expect(long.status).toBe(400);
    expect((await tableCounts()).hourly_rt).toBe(1);
  });

  it('rejects absurd ranges and limits', async () => {
    for (const q of [
      'reports/hourly?from=0001-01-01&to=9999-12-31',
      'reports/daily?from=1970-01-01&to=2105-01-01',
      'reports/daily?from=2026-01-01&to=2030-01-01',
      'reports/hourly?from=2026-11-20T25:00:00Z&to=2026-11-21',
      'realtime?window=100000000000000000000',
      'realtime?window=-1',
      'realtime?step=7',
      'errors/top?window=86401',
      'errors/top?limit=0',
      'attributions?from=2026-11-20&to=2026-11-21&limit=1001',
      'attributions?from=2026-11-20&to=2026-11-21&outcome=maybe',
    ]) {
      const r = await get(`/v1/apps/sec-a/${q}`, bearer(a.read_key));
      expect([q, r.status]).toEqual([q, 400]);
    }
  });
});

describe('rate limit and CORS', () => {
  it('answers 429 with Retry-After over RATE_LIMIT_REQUESTS_PER_S for a key', async () => {
    const results = [];
    for (let i = 0; i < 7; i++) {
      results.push(...(await Promise.all(Array.from({ length: 50 }, () => get('/v1/apps/sec-burst/realtime?step=7', bearer(burst.read_key))))));
    }
    expect(results.filter((r) => r.status === 400)).toHaveLength(300);
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited[0].body.error.code).toBe('rate_limited');
    // Another key is not affected.
    expect((await get('/v1/apps/sec-a/errors/top', bearer(a.read_key))).status).toBe(200);
  });

  it('answers preflights for allowed origins and tags responses', async () => {
    const pre = await fetch(`${srv.url}/v1/apps/sec-a/reports/hourly`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const r = await get('/v1/apps/sec-a/errors/top', { ...bearer(a.read_key), origin: ORIGIN });
    expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const other = await get('/v1/apps/sec-a/errors/top', { ...bearer(a.read_key), origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
