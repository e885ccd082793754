/**
 * The ClickHouse HTTP harness (test/harness) answers @clickhouse/client, unchanged, the way a
 * ClickHouse server does: parameters, databases, inserts, compression, sessions, errors with
 * the server's codes and statuses, and the 1 MiB URL limit that only the server path has.
 */
import { createClient, ClickHouseError, type ClickHouseClient } from '@clickhouse/client';
import { startClickHouseHttpHarness, type ClickHouseHttpHarness } from '../harness/clickhouse-http-harness';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';

let harness: ClickHouseHttpHarness;
let dir: string;
const clients: ClickHouseClient[] = [];
const client = (opts: Parameters<typeof createClient>[0] = {}) => {
  const c = createClient({ url: harness.url, ...opts });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  dir = makeScratchDir('weir-ch-harness');
  harness = await startClickHouseHttpHarness({ dataDir: dir });
  await client().command({ query: 'CREATE DATABASE IF NOT EXISTS h' });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await harness?.stop();
  removeScratchDir(dir);
});

it('binds {name:Type} parameters from param_* in their escaped text form', async () => {
  const rs = await client().query({
    query: 'SELECT {s:String} AS s, {xs:Array(String)} AS xs, {n:UInt32} + 1 AS n',
    query_params: { s: "tab\tquote' back\\slash", xs: ["a'b", 'c\\d'], n: 41 },
    format: 'JSONEachRow',
  });
  expect(await rs.json()).toEqual([{ s: "tab\tquote' back\\slash", xs: ["a'b", 'c\\d'], n: 42 }]);
});

it('runs inserts (query in the URL, data in the body) and queries in the client\'s database, compressed both ways', async () => {
  const ch = client({ database: 'h', compression: { request: true, response: true } });
  await ch.command({ query: 'CREATE TABLE t (k UInt32, v String) ENGINE = MergeTree ORDER BY k' });
  await ch.insert({ table: 't', values: [{ k: 1, v: 'one' }, { k: 2, v: 'two' }], format: 'JSONEachRow' });
  const rs = await ch.query({ query: 'SELECT k, v FROM t ORDER BY k', format: 'JSONEachRow' });
  expect(await rs.json()).toEqual([{ k: 1, v: 'one' }, { k: 2, v: 'two' }]);
  expect(rs.response_headers['x-clickhouse-format']).toBe('JSONEachRow');
  expect(rs.response_headers['content-encoding']).toBe('gzip');
});

it('keeps a setting to its query, or to its session with session_id', async () => {
  const ch = client();
  const read = async (session_id?: string) =>
    (await (await ch.query({ query: "SELECT getSetting('max_threads') AS v", format: 'JSONEachRow', session_id })).json<{ v: number }>())[0].v;
  const dflt = await read();
  await ch.command({ query: 'SET max_threads = 3', session_id: 's1' });
  expect(await read('s1')).toBe(3);
  expect(await read()).toBe(dflt);
  const rs = await ch.query({ query: "SELECT getSetting('max_threads') AS v", format: 'JSONEachRow', clickhouse_settings: { max_threads: 2 } });
  expect(await rs.json()).toEqual([{ v: 2 }]);
  expect(await read()).toBe(dflt);
});

it('answers errors as Code: N. DB::Exception text with the server\'s status', async () => {
  const unknown = await client().query({ query: 'SELECT * FROM h.nope' }).catch((e: unknown) => e);
  expect(unknown).toBeInstanceOf(ClickHouseError);
  expect(unknown).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  const res = await fetch(`${harness.url}/?query=${encodeURIComponent('SELEC 1')}`);
  expect(res.status).toBe(400);
  expect(res.headers.get('x-clickhouse-exception-code')).toBe('62');
  expect(await res.text()).toMatch(/^Code: 62\. DB::Exception: .*\(SYNTAX_ERROR\)\n$/s);
  expect((await fetch(`${harness.url}/?database=nodb&query=SELECT+1`)).status).toBe(404);
  const several = await fetch(`${harness.url}/`, { method: 'POST', body: 'SET max_threads = 1; SELECT 1' });
  expect([several.status, await several.text()]).toEqual([400, expect.stringMatching(/^Code: 62\..*Multi-statements are not allowed/)]);
});

it('refuses a URL over http_max_uri_size (1 MiB) before running anything, as the server does', async () => {
  const files = Array.from({ length: 40_000 }, (_, i) => `dt=2026-11-20/0-${i}-${i + 999}.arrow`);
  const err = await client()
    .query({ query: 'SELECT length({files:Array(String)}) AS n', query_params: { files }, format: 'JSONEachRow' })
    .catch((e: unknown) => e as Error);
  expect((err as Error).message).toMatch(/HTTP request URI invalid or too long/);
  // The same list as data (an insert's body, then a table) is fine.
  const ch = client({ database: 'h' });
  await ch.command({ query: 'CREATE TABLE files (f String) ENGINE = MergeTree ORDER BY f' });
  await ch.insert({ table: 'files', values: files.map((f) => ({ f })), format: 'JSONEachRow' });
  const rs = await ch.query({ query: 'SELECT count() AS n FROM files WHERE f IN (SELECT f FROM files)', format: 'JSONEachRow' });
  expect(await rs.json()).toEqual([{ n: 40_000 }]);
});

it('holds the first request through a gate that matches its rule until the test releases it, then runs it late', async () => {
  const gate = await harness.openGate();
  const ch = client({ database: 'h' });
  const gated = client({ url: gate.url, database: 'h' });
  await ch.command({ query: 'CREATE TABLE held (k UInt32) ENGINE = MergeTree ORDER BY k' });
  const held = gate.hold({ sql: /^INSERT INTO held\b/, data: /"k":2/ });
  // Not matching (no data, other data): they run at once.
  await gated.command({ query: 'INSERT INTO held SELECT 1' });
  await gated.insert({ table: 'held', values: [{ k: 1 }], format: 'JSONEachRow' });
  const insert = gated.insert({ table: 'held', values: [{ k: 2 }], format: 'JSONEachRow' });
  const request = await held;
  expect(request.sql).toMatch(/^INSERT INTO held/);
  // Held: not run, its client waiting, the gate's other requests and the harness's own answered.
  const count = async (c: ClickHouseClient) => (await (await c.query({ query: 'SELECT count() AS n FROM held WHERE k = 2', format: 'JSONEachRow' })).json<{ n: number }>())[0].n;
  expect(await count(gated)).toBe(0);
  await ch.command({ query: 'INSERT INTO held SELECT 3' });
  const settled = await Promise.race([insert.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
  expect(settled).toBe('waiting');

  const answer = await request.release();
  expect(answer).toMatchObject({ status: 200, summary: { written_rows: '1' } });
  await insert;
  expect(await count(ch)).toBe(1);
  // Armed for one request: the next one passes.
  await gated.insert({ table: 'held', values: [{ k: 2 }], format: 'JSONEachRow' });
  expect(await count(ch)).toBe(2);
});
