/**
 * The serving side of the serving bench, in its own process so that the HTTP load client does
 * not share its event loop: `startStandaloneServing` on a fresh embedded ClickHouse, the bench
 * data generated inside it (bench/support/serving-data.ts), an app with a read key. The raw
 * baseline runs here too, because embedded chDB binds its data directory to one process: it
 * goes through the same `@clickhouse/client` as serving.
 *
 * Protocol: init → ready; raw → raw-done; breakdown → breakdown-done; verify → verified;
 * speed-part → speed-part-written (one row of another app into `hourly_rt` on the last day: a
 * new part, as a speed-layer flush writes, that changes no report of the bench app);
 * floor → floor-ready (a bare HTTP server answering every GET with a body of the report's
 * size, the least any server could take to deliver it); stop.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readCoverage } from '../../infra/clickhouse/coverage';
import { buildReportSql } from '../../serving/reports/build-report-sql';
import { planSources } from '../../serving/reports/merge-sources';
import { parseReportQuery } from '../../serving/reports/parse-report-query';
import type { ReportQueryInput, ReportResponse } from '../../serving/reports/report-schemas';
import { startStandaloneServing, type StandaloneServing } from '../../serving/standalone';
import { cpuSeconds, reportFatal } from './child';
import { generateServingData, RAW_TABLE, type ServingDataOptions } from './serving-data';
import { latencySummary, type LatencySummary } from './serving-stats';

export interface ServingInit {
  type: 'init';
  dataDir: string;
  adminToken: string;
  appId: string;
  maxReportRows: number;
  /** REPORT_CACHE_MB of the serving process (0: every request computes every day). */
  reportCacheMb: number;
  data: ServingDataOptions;
}

/** The report under test, as the route receives it. */
export interface ReportSpec {
  from: string;
  to: string;
  metrics: string[];
  groupBy: string[];
}

export interface Bound {
  warmup: number;
  requests: number;
  maxSeconds: number;
}

let srv: StandaloneServing | undefined;
let init: ServingInit;
const say = (l: string) => process.stdout.write(`${l}\n`); // the parent shows it on stderr

/** The equivalent report computed from raw events: same buckets, groups, metrics and order. */
function rawReportSql(spec: ReportSpec): string {
  const metric: Record<string, string> = {
    events: 'count()',
    uv: 'uniqExact(device_id)',
    installs: "countIf(install_kind IN ('attributed', 'organic', 'rejected'))",
    revenue: 'sum(revenue_micros)',
  };
  const unknown = spec.metrics.filter((m) => !metric[m]);
  if (unknown.length) throw new Error(`the raw baseline knows only ${Object.keys(metric).join(', ')}; not ${unknown.join(', ')}`);
  const keys = ['bucket', ...spec.groupBy].join(', ');
  return (
    `SELECT toUnixTimestamp(toStartOfHour(ts)) AS bucket, ${spec.groupBy.join(', ')}, ${spec.metrics.map((m) => `${metric[m]} AS m_${m}`).join(', ')} ` +
    `FROM ${RAW_TABLE} WHERE app_id = {app:String} AND ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')} ` +
    `GROUP BY ${keys} ORDER BY ${keys}`
  );
}

const rawParams = (spec: ReportSpec) => ({ app: init.appId, lo: `${spec.from} 00:00:00`, hi: `${spec.to} 00:00:00` });

async function rawRows(spec: ReportSpec): Promise<Record<string, string | number>[]> {
  const s = srv as StandaloneServing;
  const rs = await s.ch.query({ query: rawReportSql(spec), query_params: rawParams(spec), format: 'JSONEachRow' });
  return rs.json<Record<string, string | number>>();
}

/** Sequential raw queries, bounded by count and time. */
async function runRaw(spec: ReportSpec, bound: Bound): Promise<LatencySummary & { rows: number; cpuMs: number }> {
  let rows = 0;
  for (let i = 0; i < bound.warmup; i++) rows = (await rawRows(spec)).length;
  const ms: number[] = [];
  const cpu0 = cpuSeconds(process.pid);
  const t0 = performance.now();
  while (ms.length < bound.requests && (performance.now() - t0) / 1000 < bound.maxSeconds) {
    const t = performance.now();
    rows = (await rawRows(spec)).length;
    ms.push(performance.now() - t);
  }
  return { ...latencySummary(ms, performance.now() - t0), rows, cpuMs: ((cpuSeconds(process.pid) - cpu0) * 1000) / ms.length };
}

/**
 * Where a report's time goes on the serving side, each step timed alone (medians): the
 * coverage read, the report query in ClickHouse with its result discarded (`FORMAT Null`:
 * engine time), the same query through the client with its JSON rows parsed, and the uv
 * states it merges.
 */
async function breakdown(spec: ReportSpec, rounds: number): Promise<Record<string, number>> {
  const s = srv as StandaloneServing;
  const input = { from: spec.from, to: spec.to, metrics: spec.metrics.join(','), group_by: spec.groupBy.join(',') } as ReportQueryInput;
  const q = parseReportQuery(init.appId, 'hourly', input, { maxReportDaysHourly: 31, maxReportDaysDaily: 400, maxReportRows: init.maxReportRows });
  const med = async (fn: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      await fn();
      ms.push(performance.now() - t);
    }
    return latencySummary(ms, 0).p50_ms;
  };
  const coverage = await readCoverage(s.ch);
  const { sql, params } = buildReportSql(q, planSources(q, new Set(coverage.covered_days)), init.maxReportRows);
  const scanned = await s.ch.query({
    query: `SELECT count() AS view_rows, sum(finalizeAggregation(uv)) AS uv_entries FROM (
      SELECT uv FROM hourly_batch WHERE app_id = {app:String} AND hour >= {lo:DateTime('UTC')} AND hour < {hi:DateTime('UTC')} AND toDate(hour) IN {covered:Array(Date)}
      UNION ALL SELECT uv FROM hourly_rt WHERE app_id = {app:String} AND hour >= {lo:DateTime('UTC')} AND hour < {hi:DateTime('UTC')} AND toDate(hour) NOT IN {covered:Array(Date)})`,
    query_params: { ...params, covered: coverage.covered_days },
    format: 'JSONEachRow',
  });
  const [counts] = await scanned.json<{ view_rows: number; uv_entries: number }>();
  return {
    coverage_ms: await med(() => readCoverage(s.ch)),
    query_engine_ms: await med(() => s.ch.command({ query: `${sql} FORMAT Null`, query_params: params })),
    // serving/reports/run-report.ts reads JSONCompact; JSONEachRow (one object per row) for comparison
    query_with_json_ms: await med(async () => (await s.ch.query({ query: sql, query_params: params, format: 'JSONCompact' })).json()),
    query_with_json_each_row_ms: await med(async () => (await s.ch.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json()),
    view_rows_read: Number(counts.view_rows),
    uv_entries_merged: spec.metrics.includes('uv') ? Number(counts.uv_entries) : 0,
  };
}

/** The served report equals the one computed from raw events, row by row. */
async function verify(spec: ReportSpec, served: ReportResponse): Promise<{ rows: number }> {
  const raw = await rawRows(spec);
  if (raw.length !== served.rows.length) throw new Error(`served ${served.rows.length} rows, raw events give ${raw.length}`);
  raw.forEach((r, i) => {
    const s = served.rows[i];
    const bucket = new Date(Number(r.bucket) * 1000).toISOString().replace('.000Z', 'Z');
    const want: Record<string, unknown> = { bucket, ...Object.fromEntries(spec.groupBy.map((d) => [d, String(r[d])])) };
    for (const m of spec.metrics) want[m] = m === 'revenue' ? Number(r[`m_${m}`]) / 1e6 : Number(r[`m_${m}`]);
    for (const [k, v] of Object.entries(want)) {
      if (s[k] !== v) throw new Error(`row ${i}: ${k} served ${JSON.stringify(s[k])}, raw events give ${JSON.stringify(v)} (${JSON.stringify(s)})`);
    }
  });
  return { rows: raw.length };
}

let speedParts = 0;
async function writeSpeedPart(): Promise<void> {
  const lastDay = init.data.startMs + (init.data.days - 1) * 86_400_000;
  // A different row each time: hourly_rt deduplicates a repeated insert block.
  await (srv as StandaloneServing).ch.command({
    query: `INSERT INTO hourly_rt (app_id, hour, events) VALUES ('bench-other', toDateTime({at:UInt32}, 'UTC'), {n:UInt64})`,
    query_params: { at: Math.floor(lastDay / 1000) + 3600, n: ++speedParts },
  });
}

let floor: http.Server | undefined;
/**
 * node:http with nothing else, in this process, answering every request with `bytes` bytes of
 * JSON-like text in one buffer: what moving the report alone costs on this machine.
 */
async function startFloor(bytes: number): Promise<string> {
  const body = Buffer.alloc(bytes, 'x');
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  floor = server;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  process.on('message', (m: { type: string } & Record<string, unknown>) => {
    void (async () => {
      switch (m.type) {
        case 'init': {
          init = m as unknown as ServingInit;
          srv = await startStandaloneServing({
            dataDir: init.dataDir,
            adminToken: init.adminToken,
            // Reports of every hour of 30 days by two dimensions exceed the default 10,000 rows;
            // the per-key rate limit would throttle the load loop.
            limits: { maxReportRows: init.maxReportRows, rateRequestsPerS: 1_000_000_000 },
            reportCacheMb: init.reportCacheMb,
          });
          const data = await generateServingData(srv.ch, init.data, say);
          const { read_key } = await srv.apps.create(init.appId, {});
          process.send?.({ type: 'ready', url: srv.url, readKey: read_key, data });
          break;
        }
        case 'raw':
          process.send?.({ type: 'raw-done', ...(await runRaw(m.spec as ReportSpec, m.bound as Bound)) });
          break;
        case 'breakdown':
          process.send?.({ type: 'breakdown-done', ...(await breakdown(m.spec as ReportSpec, m.rounds as number)) });
          break;
        case 'verify':
          process.send?.({ type: 'verified', ...(await verify(m.spec as ReportSpec, m.served as ReportResponse)) });
          break;
        case 'speed-part':
          await writeSpeedPart();
          process.send?.({ type: 'speed-part-written' });
          break;
        case 'floor':
          process.send?.({ type: 'floor-ready', url: await startFloor(m.bytes as number) });
          break;
        case 'stop':
          floor?.close();
          floor?.closeAllConnections();
          await srv?.stop();
          process.exit(0);
      }
    })().catch(reportFatal);
  });
  process.once('disconnect', () => void (srv?.stop() ?? Promise.resolve()).finally(() => process.exit(1)));
  process.send?.({ type: 'started' });
}

main().catch(reportFatal);
