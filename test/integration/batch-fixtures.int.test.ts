/**
 * The batch recompute on the hand-computed fixtures of test/fixtures/attribution-fixtures.ts,
 * the same ones the reference model and the stream are tested on: the batch layer sees every
 * event, so wherever the stream saw everything too, the two layers agree through them.
 * For each fixture: its events are archived as the archiver writes them (with their Kafka
 * positions, which decide the winning copies), its settings become the app registry and the
 * runner's config, the UTC days its events touch are recomputed, and the batch views are
 * compared with the hand-computed answers: attributions field by field, report rows (the
 * serving report query, answered from hourly_batch alone), reinstalls, derived dimensions and
 * winning copies as far as an hourly view shows them (it counts events per hour and dimension
 * values, not per event id). Last, the whole hourly view must equal the reference model's.
 * Every fixture applies, including the one the stream test leaves out (an install stamped
 * earlier that arrives later): batch reads everything before it decides.
 *
 * Isolation. chDB binds one data directory per process, so every fixture shares one
 * ClickHouse. Own app ids per fixture would not isolate them: the fixtures share their days,
 * and a run replaces whole day partitions, every app's rows at once. So each fixture gets
 *   - its own archive (a fresh object-store directory), since a run reads the whole archive;
 *   - emptied batch views, covered days and app registry: an earlier fixture's days that
 *     this run does not recompute would still show, and its app settings still apply;
 *   - its own runner, for the fixture's global blocklist and default lookback.
 * Run records (batch_runs) stay: they are history, and only queued or running runs can hold
 * a new run back. The views hold nothing else of a run (scratch and staging tables are
 * rebuilt by every run).
 */
import path from 'node:path';
import { DAY_MS, dayRange, formatDay, requireDay } from '../../batch-layer/days';
import type { Run } from '../../batch-layer/run-types';
import { createAppRegistry } from '../../infra/apps/app-registry';
import { queryRows } from '../../infra/clickhouse/client';
import { createObjectStore } from '../../infra/object-store/object-store';
import { buildReportSql } from '../../serving/reports/build-report-sql';
import { parseReportQuery } from '../../serving/reports/parse-report-query';
import type { ReportQueryInput } from '../../serving/reports/report-schemas';
import { formatTz } from '../../serving/reports/report-time';
import { shapeCompactReportRows } from '../../serving/reports/shape-report-rows';
import type { ArchivedEvent } from '../../schemas/event';
import { FIXTURE_APP, REFERENCE_FIXTURES, type ReferenceFixture } from '../fixtures/attribution-fixtures';
import { DIMENSIONS } from '../reference/dimensions';
import { METRICS, formatBucket, referenceReport, type ReportQuery, type ReportRow } from '../reference/reports';
import { TEST_GRACE_MINUTES, appendToArchive, batchAttributions, batchHourlyReport, createTestRunner, openBatchTestEnv, type BatchTestEnv } from './batch-test-kit';

/** What one fixture's run leaves behind, emptied before the next. */
const PER_FIXTURE_TABLES = ['hourly_batch_data', 'attributions_batch_data', 'batch_covered_days', 'apps'];
const REPORT_LIMITS = { maxReportDaysHourly: 400, maxReportDaysDaily: 4000, maxReportRows: 10_000 };

let env: BatchTestEnv;

beforeAll(async () => {
  env = await openBatchTestEnv();
});

afterAll(async () => {
  await env?.close();
});

/** The UTC days from the earliest to the latest event of the fixture (a recompute window is consecutive days). */
function touchedDays(events: readonly ArchivedEvent[]): string[] {
  const times = events.map((e) => e.ts);
  return dayRange(formatDay(Math.min(...times)), formatDay(Math.max(...times)));
}

const appsOf = (f: ReferenceFixture) => [...new Set([...f.events.map((e) => e.app_id), ...Object.keys(f.settings?.apps ?? {})])];

/** Every app of the fixture registered (as events need), with the fixture's own settings where it has some. */
async function registerApps(f: ReferenceFixture, defaultLookbackDays: number): Promise<void> {
  const apps = createAppRegistry(env.ch, { defaultLookbackDays });
  try {
    for (const app of appsOf(f)) {
      const own = f.settings?.apps?.[app];
      await apps.create(app, { lookback_days: own?.lookbackDays, ip_blocklist: own?.ipBlocklist && [...own.ipBlocklist] });
    }
  } finally {
    apps.close();
  }
}

async function runFixture(f: ReferenceFixture, index: number): Promise<Run> {
  for (const table of PER_FIXTURE_TABLES) await env.ch.command({ query: `TRUNCATE TABLE ${table}` });
  const lookbackDays = f.settings?.defaultLookbackDays ?? 7;
  await registerApps(f, lookbackDays);
  const store = createObjectStore(`file://${path.join(env.dir, `archive-${index}`)}`);
  await appendToArchive(store, f.events, { keepOffsets: true });
  const days = touchedDays(f.events);
  const last = days[days.length - 1];
  // The fixtures' days may lie in the future: the clock says the last one has closed.
  const closed = requireDay(last) + DAY_MS + TEST_GRACE_MINUTES * 60_000;
  const runner = createTestRunner(env, { owner: `fixture-${index}`, store, ipBlocklist: f.settings?.globalBlocklist, lookbackDays, now: () => Math.max(Date.now(), closed) });
  try {
    return await runner.runDay(last, { days });
  } finally {
    await runner.stop();
  }
}

/** The fixture's report query as the serving route runs it, every hour read from hourly_batch; rows without `source`. */
async function batchReport(q: ReportQuery): Promise<ReportRow[]> {
  const input = {
    from: new Date(q.from).toISOString(),
    to: new Date(q.to).toISOString(),
    tz: formatTz(q.tz ?? 0),
    metrics: q.metrics?.join(','),
    group_by: q.groupBy?.join(','),
    ...Object.fromEntries(Object.entries(q.filters ?? {}).map(([dim, values]) => [`filter.${dim}`, [...(values ?? [])]])),
  } as ReportQueryInput;
  const sq = parseReportQuery(q.appId, q.granularity, input, REPORT_LIMITS);
  const { sql, params } = buildReportSql(sq, { coveredDays: [], batch: true, speed: false }, REPORT_LIMITS.maxReportRows);
  const rs = await env.ch.query({ query: sql, query_params: params, format: 'JSONCompact' });
  const result = await rs.json<(string | number)[]>();
  const rows = shapeCompactReportRows(sq, (result.meta ?? []).map((c) => c.name), result.data, new Set());
  return rows.map(({ source: _source, ...row }) => row as ReportRow);
}

/** The copy of an event that counts: the one the fixture names as winner, else its only copy. */
function winningCopy(f: ReferenceFixture, appId: string, eventId: string): ArchivedEvent {
  const w = f.expected.winners?.find((x) => x.app_id === appId && x.event_id === eventId);
  const copies = f.events.filter(
    (e) => e.app_id === appId && e.event_id === eventId && (!w || (e.received_at === w.received_at && e.kafka_partition === w.kafka_partition && e.kafka_offset === w.kafka_offset)),
  );
  if (copies.length !== 1) throw new Error(`fixture has ${copies.length} candidate winning copies of ${appId}/${eventId} (name its winner)`);
  return copies[0];
}

const hourOf = (ts: number) => formatBucket(ts, 'hourly');

/**
 * The dimension values of the hourly_batch rows of `e`'s hour and type whose distinct-device
 * state holds `e`'s device: the view keeps no event ids, so this is as close to "the row that
 * counts `e`" as it gets (other events of that hour, type and device would show as well).
 */
async function rowsCountingDevice(appId: string, e: ArchivedEvent): Promise<Record<string, string>[]> {
  const dims = DIMENSIONS.join(', ');
  return queryRows<Record<string, string>>(
    env.ch,
    `SELECT ${dims} FROM (
       SELECT ${dims}, uniqExactMergeState(uv) AS devices FROM hourly_batch
       WHERE app_id = {app:String} AND type = {type:String} AND hour = toStartOfHour(fromUnixTimestamp64Milli({ts:Int64}, 'UTC'))
       GROUP BY ${dims}
     )
     -- adding the device to the state adds no device: it is in there
     WHERE arrayReduce('uniqExactMerge', [devices, arrayReduce('uniqExactState', [{device:String}])]) = finalizeAggregation(devices)`,
    { app: appId, type: e.type, ts: e.ts, device: e.device_id },
  );
}

function countBy<T>(items: readonly T[], key: (x: T) => string, n: (x: T) => number = () => 1): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of items) if (n(x) > 0) out[key(x)] = (out[key(x)] ?? 0) + n(x);
  return out;
}

describe.each(REFERENCE_FIXTURES.map((f, i) => [f.name, f, i] as const))('batch views on fixture: %s', (_name, f, index) => {
  const { expected } = f;
  let run: Run;
  const viewSpan = () => [requireDay(run.days[0]), requireDay(run.days[run.days.length - 1]) + DAY_MS] as const;
  const hourlyView = (appId: string) => batchHourlyReport(env.ch, appId, ...viewSpan());

  beforeAll(async () => {
    run = await runFixture(f, index);
  });

  it('runs over every event once, dropping the other copies of duplicates', () => {
    const events = new Set(f.events.map((e) => `${e.app_id}\u0000${e.event_id}`)).size;
    expect(run).toMatchObject({ status: 'succeeded', error: null, days: touchedDays(f.events), rows_read: f.events.length, duplicates_dropped: f.events.length - events });
  });

  if (expected.attributions) {
    it('decides every first install as computed by hand', async () => {
      for (const [appId, rows] of Object.entries(expected.attributions ?? {})) expect([appId, await batchAttributions(env.ch, appId)]).toEqual([appId, rows]);
    });
  }

  if (expected.reports) {
    it.each(expected.reports.map((r, i) => [i, r] as const))('answers report query #%i', async (_i, r) => {
      expect(await batchReport(r.query)).toEqual(r.rows);
    });
  }

  if (expected.reinstalls) {
    // Per event the view cannot tell; per hour it counts them exactly.
    it('counts every other install of a device as a reinstall, in its hour', async () => {
      const want = countBy(expected.reinstalls ?? [], (id) => hourOf(winningCopy(f, FIXTURE_APP, id).ts));
      expect(countBy(await hourlyView(FIXTURE_APP), (r) => r.bucket, (r) => Number(r.reinstalls))).toEqual(want);
    });
  }

  if (expected.dimensions) {
    it('derives the dimensions of each event', async () => {
      for (const [eventId, dims] of Object.entries(expected.dimensions ?? {})) {
        const e = winningCopy(f, FIXTURE_APP, eventId);
        const rows = await rowsCountingDevice(FIXTURE_APP, e);
        expect([eventId, rows]).toEqual([eventId, expect.arrayContaining([expect.objectContaining(dims)])]);
      }
    });
  }

  if (expected.winners) {
    // The copies differ in event time and country: what each hour counts shows which copy won.
    it('counts each duplicated event once, as its expected winning copy', async () => {
      const winners = f.events.filter((e) => winningCopy(f, e.app_id, e.event_id) === e);
      const key = (bucket: string, type: unknown, country: unknown) => `${bucket} ${String(type)} ${String(country)}`;
      for (const appId of appsOf(f)) {
        const want = countBy(
          winners.filter((e) => e.app_id === appId),
          (e) => key(hourOf(e.ts), e.type, e.country),
        );
        const counted = countBy(await hourlyView(appId), (r) => key(r.bucket, r.type, r.country), (r) => Number(r.events));
        expect([appId, counted]).toEqual([appId, want]);
      }
    });
  }

  it('holds the reference model’s hourly view, every metric by every dimension', async () => {
    const [from, to] = viewSpan();
    for (const appId of appsOf(f)) {
      const want = referenceReport({ events: f.events, settings: f.settings, appId, granularity: 'hourly', from, to, metrics: METRICS, groupBy: DIMENSIONS });
      expect([appId, await hourlyView(appId)]).toEqual([appId, want]);
    }
  });
});
