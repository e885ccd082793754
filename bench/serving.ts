/**
 * `npm run bench -- serving`: latency and requests/s of a report served from the hourly views,
 * against the same report computed from raw events, in one run on one machine (the ratio holds
 * when the machine is busy with other work; absolute figures do not).
 *
 * 1. A serving process (bench/support/serving-process.ts): `startStandaloneServing` on a fresh
 *    embedded ClickHouse, `BENCH_EVENTS` raw events generated inside ClickHouse over
 *    `BENCH_DAYS` days, the hourly views filled from them (all days but the last in
 *    `hourly_batch` and covered, the last in `hourly_rt`, so reports take the batch/speed
 *    merge path), and an app with a read key.
 * 2. The report: `GET /v1/apps/bench-a/reports/hourly` over the whole range, `group_by`
 *    `BENCH_GROUP_BY` (default channel,country), metrics `BENCH_METRICS` (default
 *    events,uv,installs,revenue) and the same without uv. For each: one response checked row by
 *    row against raw events, then sequential requests after a warm-up (latency), then
 *    `BENCH_CONCURRENCY` requests in flight (requests/s), each bounded by a count and by
 *    `BENCH_PHASE_SECONDS`. Real HTTP over loopback with the read key.
 *    The first request finds the report segment cache empty (`cold_ms`); later ones read
 *    every day from it, as the views do not change. `live_*`: the same requests with a new
 *    speed part written before each (a row of another app on the speed day, as the speed layer
 *    writes one per flush), so each computes the speed day again: a warm report under live
 *    traffic. `REPORT_CACHE_MB=0` measures serving without the cache.
 * 3. Baseline: the equivalent GROUP BY over the raw MergeTree events table (ORDER BY app_id, ts)
 *    through the same ClickHouse client, sequential, same bounds. It skips HTTP and shaping,
 *    which favours the baseline.
 * 4. Where serving time goes: coverage read, the query in the engine alone (`FORMAT Null`), the
 *    query with its JSON parsed, rows read and uv states merged.
 * 5. Floor: a bare node:http server in the serving process answering every GET with a body of
 *    the report's size, requested the same way (`http_floor_*`): what delivering the bytes
 *    alone costs over loopback here, below which no warm report can go.
 *
 * `speedup` = raw p99 / served p99 (both with uv); `speedup_p50` the same for medians.
 * `BENCH_CPU_PROF=<dir>` starts the serving process with `--cpu-prof` (profile written at its
 * exit; summarise with bench/support/cpu-profile-summary.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_REPORT_CACHE_MB } from '../infra/config';
import type { ReportResponse } from '../serving/reports/report-schemas';
import { cpuSeconds, forkChild, killAllChildren, type BenchChild, type ChildMessage } from './support/child';
import type { ServingDataReport } from './support/serving-data';
import type { Bound, ReportSpec, ServingInit } from './support/serving-process';
import { latencySummary, type LatencySummary } from './support/serving-stats';

interface Options {
  events: number;
  devices: number;
  sessionEvents: number;
  days: number;
  groupBy: string[];
  metrics: string[];
  requests: number;
  warmup: number;
  concurrency: number;
  concurrentRequests: number;
  rawRequests: number;
  phaseSeconds: number;
  reportCacheMb: number;
  cpuProfDir: string | undefined;
}

function options(env: NodeJS.ProcessEnv = process.env): Options {
  const int = (name: string, def: number, min = 1): number => {
    const v = env[name] === undefined || env[name] === '' ? def : Number(env[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${env[name]}`);
    return v;
  };
  const list = (name: string, def: string) => (env[name] || def).split(',').map((s) => s.trim());
  const o = {
    events: int('BENCH_EVENTS', 10_000_000),
    // ~100k devices for the largest app, each in sessions of 10 events: 50 events a month per
    // device. BENCH_SESSION_EVENTS=1 BENCH_DEVICES=1000000 gives the earlier data (every event
    // from an independently drawn device).
    devices: int('BENCH_DEVICES', 200_000),
    sessionEvents: int('BENCH_SESSION_EVENTS', 10),
    days: int('BENCH_DAYS', 30, 2),
    groupBy: list('BENCH_GROUP_BY', 'channel,country'),
    metrics: list('BENCH_METRICS', 'events,uv,installs,revenue'),
    requests: int('BENCH_REQUESTS', 200),
    warmup: int('BENCH_WARMUP', 3, 0),
    concurrency: int('BENCH_CONCURRENCY', 4),
    concurrentRequests: int('BENCH_CONCURRENT_REQUESTS', 200),
    rawRequests: int('BENCH_RAW_REQUESTS', 50),
    phaseSeconds: int('BENCH_PHASE_SECONDS', 30),
    reportCacheMb: int('REPORT_CACHE_MB', DEFAULT_REPORT_CACHE_MB, 0),
    cpuProfDir: env.BENCH_CPU_PROF ? path.resolve(env.BENCH_CPU_PROF) : undefined,
  };
  if (o.days > 31) throw new Error('BENCH_DAYS must be at most 31 (MAX_REPORT_DAYS_HOURLY)');
  if (!o.metrics.includes('uv')) throw new Error('BENCH_METRICS must include uv (the run also measures the report without it)');
  return o;
}

const APP_ID = 'bench-a';
const START_MS = Date.UTC(2026, 9, 1);
const say = (line: string) => process.stdout.write(`${line}\n`);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const fmtLat = (l: LatencySummary) => `p50 ${l.p50_ms.toFixed(1)} ms, p99 ${l.p99_ms.toFixed(1)} ms, max ${l.max_ms.toFixed(1)} ms (n=${l.n})`;

/** GET over a keep-alive agent; resolves with the status and the whole body. */
function get(agent: http.Agent, url: URL, key: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${key}`, 'accept-encoding': 'identity' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export async function runServingBench(): Promise<Record<string, unknown>> {
  const o = options();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'weir-bench-serving-'));
  let child: BenchChild | undefined;
  const cleanup = async () => {
    if (child) {
      child.send({ type: 'stop' });
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 20_000).unref())]);
    }
    await killAllChildren(5_000);
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`bench: ${sig}, cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    child = forkChild('serving', path.join(__dirname, 'support', 'serving-process.ts'), {
      execArgv: o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [],
    });
    return await bench(o, tmp, child);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function bench(o: Options, tmp: string, child: BenchChild): Promise<Record<string, unknown>> {
  say(
    `serving bench: ${o.events.toLocaleString('en-US')} events of ${o.devices.toLocaleString('en-US')} devices in sessions of ${o.sessionEvents} over ${o.days} days, report hourly group_by=${o.groupBy.join(',')} ` +
      `metrics=${o.metrics.join(',')} (and without uv), report cache ${o.reportCacheMb} MB, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`,
  );
  await child.next('started', 120_000);
  const init: ServingInit = {
    type: 'init',
    dataDir: path.join(tmp, 'serving'),
    adminToken: randomBytes(16).toString('hex'),
    appId: APP_ID,
    maxReportRows: 1_000_000,
    reportCacheMb: o.reportCacheMb,
    data: { events: o.events, devices: o.devices, sessionEvents: o.sessionEvents, days: o.days, speedDays: 1, startMs: START_MS },
  };
  const t = performance.now();
  child.send(init as unknown as ChildMessage);
  const ready = await child.next<ChildMessage & { url: string; readKey: string; data: ServingDataReport }>('ready', 3_600_000);
  say(`data ready in ${((performance.now() - t) / 1000).toFixed(1)} s; serving at ${ready.url}`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const from = day(START_MS);
  const to = day(START_MS + o.days * 86_400_000);
  const withUv: ReportSpec = { from, to, metrics: o.metrics, groupBy: o.groupBy };
  const noUv: ReportSpec = { ...withUv, metrics: o.metrics.filter((m) => m !== 'uv') };
  const urlOf = (s: ReportSpec) => {
    const u = new URL(`${ready.url}/v1/apps/${APP_ID}/reports/hourly`);
    u.search = new URLSearchParams({ from: s.from, to: s.to, metrics: s.metrics.join(','), group_by: s.groupBy.join(',') }).toString();
    return u;
  };
  const request = async (u: URL): Promise<Buffer> => {
    const res = await get(agent, u, ready.readKey);
    if (res.status !== 200) throw new Error(`GET ${u.pathname}${u.search}: ${res.status} ${res.body.toString('utf8', 0, 500)}`);
    return res.body;
  };

  /** Requests one after another, bounded by count and time; `before` each, untimed. */
  const sequentialLatency = async (send: () => Promise<unknown>, before?: () => Promise<unknown>): Promise<LatencySummary> => {
    const ms: number[] = [];
    const t0 = performance.now();
    while (ms.length < o.requests && (performance.now() - t0) / 1000 < o.phaseSeconds) {
      await before?.();
      const t1 = performance.now();
      await send();
      ms.push(performance.now() - t1);
    }
    return latencySummary(ms, performance.now() - t0);
  };

  /** Sequential GETs of a body of `bytes` from a bare node:http server in the serving process. */
  const httpFloor = async (bytes: number): Promise<LatencySummary> => {
    child.send({ type: 'floor', bytes });
    const { url } = await child.next<ChildMessage & { url: string }>('floor-ready', 60_000);
    const u = new URL(url);
    for (let i = 0; i < o.warmup; i++) await get(agent, u, ready.readKey);
    const floor = await sequentialLatency(() => get(agent, u, ready.readKey));
    say(`http floor (bare node:http, ${(bytes / 1e6).toFixed(1)} MB body, same processes): ${fmtLat(floor)}`);
    return floor;
  };

  const measure = async (label: string, spec: ReportSpec) => {
    const u = urlOf(spec);
    // The first request finds the segment cache empty: every day is computed.
    const tCold = performance.now();
    const body = await request(u);
    const coldMs = performance.now() - tCold;
    const served = JSON.parse(body.toString('utf8')) as ReportResponse;
    const checked = await (child.send({ type: 'verify', spec, served: served as unknown as ChildMessage }), child.next<ChildMessage & { rows: number }>('verified', 3_600_000));
    say(`${label}: ${checked.rows.toLocaleString('en-US')} rows (${(body.length / 1e6).toFixed(1)} MB), equal to the report computed from raw events; first request (cache empty) ${coldMs.toFixed(0)} ms`);
    for (let i = 0; i < o.warmup; i++) await request(u);

    const cpu0 = cpuSeconds(child.pid);
    const sequential = await sequentialLatency(() => request(u));
    // CPU of the serving process per request: unlike latency, it does not grow with the load other work puts on the machine.
    const cpuMs = ((cpuSeconds(child.pid) - cpu0) * 1000) / sequential.n;
    const live = await sequentialLatency(
      () => request(u),
      () => (child.send({ type: 'speed-part' }), child.next('speed-part-written', 60_000)),
    );

    const concMs: number[] = [];
    let started = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (started < o.concurrentRequests && (performance.now() - t0) / 1000 < o.phaseSeconds) {
        started++;
        const t1 = performance.now();
        await request(u);
        concMs.push(performance.now() - t1);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const concurrent = latencySummary(concMs, performance.now() - t0);
    say(`  sequential: ${fmtLat(sequential)}, serving CPU ${cpuMs.toFixed(0)} ms/request; ${o.concurrency} in flight: ${concurrent.rps.toFixed(2)} requests/s, ${fmtLat(concurrent)}`);
    say(`  live (a new speed part before each request): ${fmtLat(live)}`);

    child.send({ type: 'breakdown', spec: spec as unknown as ChildMessage, rounds: 3 });
    const { type: _type, ...bd } = await child.next<ChildMessage & Record<string, number>>('breakdown-done', 3_600_000);
    say(
      `  serving side (medians): coverage ${bd.coverage_ms.toFixed(1)} ms; report query in ClickHouse ${bd.query_engine_ms.toFixed(1)} ms (FORMAT Null), ` +
        `with JSONCompact rows parsed ${bd.query_with_json_ms.toFixed(1)} ms (JSONEachRow ${bd.query_with_json_each_row_ms.toFixed(1)} ms); ${bd.view_rows_read.toLocaleString('en-US')} view rows read` +
        (bd.uv_entries_merged ? `, ${bd.uv_entries_merged.toLocaleString('en-US')} uv state entries merged` : ''),
    );
    return { sequential, live, concurrent, cpuMs, coldMs, rows: checked.rows, bytes: body.length, breakdown: bd };
  };

  const raw = async (label: string, spec: ReportSpec) => {
    const bound: Bound = { warmup: 1, requests: o.rawRequests, maxSeconds: o.phaseSeconds };
    child.send({ type: 'raw', spec: spec as unknown as ChildMessage, bound: bound as unknown as ChildMessage });
    const r = await child.next<ChildMessage & LatencySummary & { rows: number; cpuMs: number }>('raw-done', 3_600_000);
    say(`${label}: ${fmtLat(r)}, CPU ${r.cpuMs.toFixed(0)} ms/query; ${r.rps.toFixed(2)} queries/s sequential`);
    return r;
  };

  const served = await measure('served from views, with uv', withUv);
  const floor = await httpFloor(served.bytes);
  const rawUv = await raw('raw events, with uv (client query, no HTTP)', withUv);
  const servedNoUv = await measure('served from views, without uv', noUv);
  const rawNoUv = await raw('raw events, without uv (client query, no HTTP)', noUv);
  agent.destroy();

  const speedup = rawUv.p99_ms / served.sequential.p99_ms;
  const speedupP50 = rawUv.p50_ms / served.sequential.p50_ms;
  const speedupNoUv = rawNoUv.p99_ms / servedNoUv.sequential.p99_ms;
  say(`speedup raw p99 / served p99: with uv ${speedup.toFixed(2)}x (p50 ${speedupP50.toFixed(2)}x); without uv ${speedupNoUv.toFixed(2)}x`);
  const r2 = (n: number) => Number(n.toFixed(2));
  return {
    p50_ms: served.sequential.p50_ms,
    p99_ms: served.sequential.p99_ms,
    rps: served.concurrent.rps,
    // The first request of the report, before the segment cache holds its days.
    cold_ms: r2(served.coldMs),
    // A new speed part before each request: the speed day is computed again, as under live traffic.
    live_p50_ms: served.live.p50_ms,
    live_p99_ms: served.live.p99_ms,
    // Delivering a body of the same size from a bare node:http server: the least a warm report can take.
    http_floor_p50_ms: floor.p50_ms,
    http_floor_p99_ms: floor.p99_ms,
    raw_p50_ms: rawUv.p50_ms,
    raw_p99_ms: rawUv.p99_ms,
    speedup: r2(speedup),
    speedup_basis: 'raw_p99_ms / p99_ms (with uv)',
    speedup_p50: r2(speedupP50),
    // CPU per request (serving process) and per raw query: a load-independent comparison.
    cpu_ms_per_request: r2(served.cpuMs),
    raw_cpu_ms_per_query: r2(rawUv.cpuMs),
    speedup_cpu: r2(rawUv.cpuMs / served.cpuMs),
    no_uv: {
      p50_ms: servedNoUv.sequential.p50_ms,
      p99_ms: servedNoUv.sequential.p99_ms,
      live_p99_ms: servedNoUv.live.p99_ms,
      rps: servedNoUv.concurrent.rps,
      cold_ms: r2(servedNoUv.coldMs),
      raw_p50_ms: rawNoUv.p50_ms,
      raw_p99_ms: rawNoUv.p99_ms,
      speedup: r2(speedupNoUv),
      cpu_ms_per_request: r2(servedNoUv.cpuMs),
      raw_cpu_ms_per_query: r2(rawNoUv.cpuMs),
    },
    requests: { sequential: served.sequential.n, concurrent: served.concurrent.n, raw: rawUv.n, concurrency: o.concurrency },
    report: { group_by: o.groupBy.join(','), metrics: o.metrics.join(','), days: o.days, rows: served.rows, response_bytes: served.bytes },
    breakdown: { with_uv: served.breakdown, without_uv: servedNoUv.breakdown },
    data: {
      events: ready.data.rawRows,
      hourly_batch_rows: ready.data.batchRows,
      hourly_rt_rows: ready.data.rtRows,
      covered_days: ready.data.batchDays.length,
      uv_entries: ready.data.uvEntries,
      generate_s: r2(ready.data.seconds.raw + ready.data.seconds.views),
    },
    cpus: os.cpus().length,
    load_average: r2(os.loadavg()[0]),
  };
}
