/**
 * Real-time, top errors and attributions against a real embedded ClickHouse, with the clock
 * pinned: per-step series with empty steps filled, merged uv, top fingerprints, and first
 * installs from batch for covered days and from speed otherwise, paged by cursor.
 */
import { randomBytes } from 'node:crypto';
import { markCovered } from '../../infra/clickhouse/coverage';
import { AttributionsResponseSchema } from '../../serving/attributions/attribution-schemas';
import { RealtimeResponseSchema, TopErrorsResponseSchema } from '../../serving/realtime/realtime-schemas';
import { startStandaloneServing, type StandaloneServing } from '../../serving/standalone';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';

jest.setTimeout(120_000);

// Relative to the real clock: the speed views have TTLs (3 h, 2 days) measured from now.
const M = Math.floor(Date.now() / 60_000) * 60_000; // a minute start
const NOW = M + 30_500;
const ch = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
let srv: StandaloneServing;
let dataDir: string;
let key: string;

const get = async (p: string) => {
  const res = await fetch(`${srv.url}/v1/apps/rt${p}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as unknown };
};

beforeAll(async () => {
  dataDir = makeScratchDir('weir-serving-realtime');
  srv = await startStandaloneServing({ dataDir, adminToken: randomBytes(16).toString('hex'), now: () => NOW, limits: { rateRequestsPerS: 10_000 } });
  key = (await srv.apps.create('rt', {})).read_key;
  // seconds: 12:00:05 d1 ×2 (one click), 12:00:07 d1 + d2 (install), 11:59:59 d3 (error)
  await srv.ch.command({
    query: `INSERT INTO realtime_rt SELECT 'rt', toDateTime(s, 'UTC'), toUInt64(count()), toUInt64(countIf(t = 'click')), toUInt64(countIf(t = 'install')), toUInt64(countIf(t = 'error')), uniqExactState(d)
      FROM values('s String, d String, t String', ('${ch(M + 5000)}', 'd1', 'click'), ('${ch(M + 5000)}', 'd1', 'launch'), ('${ch(M + 7000)}', 'd1', 'launch'), ('${ch(M + 7000)}', 'd2', 'install'), ('${ch(M - 1000)}', 'd3', 'error'))
      GROUP BY s`,
  });
  await srv.ch.command({
    query: `INSERT INTO errors_rt VALUES
      ('rt', '${ch(M - 60_000)}', 'aaaa', 'Crash', 3, 'boom #', '${ch(M - 20_000)}'),
      ('rt', '${ch(M)}', 'aaaa', 'Crash', 2, 'boom #', '${ch(M + 20_000)}'),
      ('rt', '${ch(M - 1_800_000)}', 'bbbb', 'Timeout', 4, 'slow', '${ch(M - 1_799_000)}'),
      ('rt', '${ch(M - 86_400_000)}', 'cccc', 'Old', 100, 'old', '${ch(M - 86_400_000)}')`,
  });
  // Batch rows carry the id of the run that covers their day (the generation the view shows).
  const a = (side: string, id: string, ts: string, outcome: string, channel: string, click: string, ctit: string, reason: string) =>
    `('rt', '${id}', 'dev-${id}', '${ts}', '${outcome}', '${click ? 'device' : ''}', '${click}', '${channel}', '', ${ctit}, '${reason}', '2026-11-24 00:00:00'${side === 'b' ? ", 'test'" : ''})`;
  await srv.ch.command({
    query: `INSERT INTO attributions_batch_data VALUES ${[
      a('b', 'i1', '2026-11-22 10:00:00.000', 'attributed', 'fb', 'c1', '60000', ''),
      a('b', 'i2', '2026-11-22 10:00:00.000', 'rejected', 'fb', 'c2', '5', 'click_injection'),
    ].join(', ')}`,
  });
  await srv.ch.command({
    query: `INSERT INTO attributions_rt VALUES ${[
      a('s', 'stale', '2026-11-22 11:00:00.000', 'organic', 'organic', '', 'NULL', ''), // covered day: batch wins
      a('s', 'i3', '2026-11-23 09:00:00.000', 'organic', 'organic', '', 'NULL', ''),
    ].join(', ')}`,
  });
  await markCovered(srv.ch, ['2026-11-22'], 'test');
});

afterAll(async () => {
  await srv?.stop();
  removeScratchDir(dataDir);
});

it('answers a per-step series over the window with empty steps as zeros, newest last', async () => {
  const r = await get('/realtime?window=60&step=10');
  expect(r.status).toBe(200);
  const body = RealtimeResponseSchema.parse(r.body);
  expect(body.now).toBe(new Date(NOW).toISOString());
  expect(body.series.map((p) => p.ts)).toEqual([-20, -10, 0, 10, 20, 30].map((s) => iso(M + s * 1000)));
  expect(body.series[1]).toMatchObject({ events: 1, errors: 1, uv: 1 });
  expect(body.series[2]).toEqual({ ts: iso(M), events: 4, uv: 2, clicks: 1, installs: 1, errors: 0 });
  expect(body.series[5].events).toBe(0);
});

it('lists the top error fingerprints of the window', async () => {
  const r = await get('/errors/top?window=3600&limit=10');
  const body = TopErrorsResponseSchema.parse(r.body);
  expect(body.rows).toEqual([
    { fingerprint: 'aaaa', error_type: 'Crash', count: 5, sample_message: 'boom #', last_seen: new Date(M + 20_000).toISOString() },
    { fingerprint: 'bbbb', error_type: 'Timeout', count: 4, sample_message: 'slow', last_seen: new Date(M - 1_799_000).toISOString() },
  ]);
  expect(TopErrorsResponseSchema.parse((await get('/errors/top?window=120&limit=1')).body).rows.map((x) => x.fingerprint)).toEqual(['aaaa']);
});

it('lists first installs from batch for covered days and speed otherwise, paged by cursor', async () => {
  const first = AttributionsResponseSchema.parse((await get('/attributions?from=2026-11-22&to=2026-11-24&limit=2')).body);
  expect(first.rows.map((x) => [x.install_event_id, x.source])).toEqual([
    ['i1', 'batch'],
    ['i2', 'batch'],
  ]);
  expect(first.rows[1]).toMatchObject({ outcome: 'rejected', match: 'device', click_event_id: 'c2', ctit_ms: 5, fraud_reason: 'click_injection', channel: 'fb' });
  expect(first.next_cursor).not.toBeNull();
  const second = AttributionsResponseSchema.parse((await get(`/attributions?from=2026-11-22&to=2026-11-24&limit=2&cursor=${first.next_cursor}`)).body);
  expect(second.rows).toEqual([
    { install_event_id: 'i3', device_id: 'dev-i3', ts: '2026-11-23T09:00:00.000Z', outcome: 'organic', match: null, click_event_id: null, channel: 'organic', campaign_id: '', ctit_ms: null, fraud_reason: null, source: 'speed' },
  ]);
  expect(second.next_cursor).toBeNull();
  const rejected = AttributionsResponseSchema.parse((await get('/attributions?from=2026-11-22&to=2026-11-24&outcome=rejected&channel=fb')).body);
  expect(rejected.rows.map((x) => x.install_event_id)).toEqual(['i2']);
});
