/**
 * A report end to end: coverage, the one report query, shaping. `runReport` gives the rows as
 * objects (the live stream's "today" counters); `runReportJson` gives the response body of the
 * report routes, with the rows rendered by ClickHouse (see buildReportJsonSql).
 */
import type { ClickHouseClient, ResponseJSON } from '@clickhouse/client';
import { AppError } from '../../infra/errors';
import { readCoverage, type Coverage } from '../../infra/clickhouse/coverage';
import { buildReportJsonSql, buildReportSql, type ReportBuckets } from './build-report-sql';
import { bucketSource, planSources } from './merge-sources';
import type { ReportQuery } from './parse-report-query';
import type { ReportResponse } from './report-schemas';
import { DAY_MS, HOUR_MS, formatInstant, formatTz } from './report-time';
import { shapeCompactReportRows } from './shape-report-rows';

type ReportValue = string | number;

const tooMany = (maxRows: number) =>
  new AppError('bad_request', `too many groups: the report has more than ${maxRows} rows (MAX_REPORT_ROWS); narrow the range, group_by or filters`);

/** The response without its rows, keys in contract order. */
function head(q: ReportQuery, coverage: Coverage): Omit<ReportResponse, 'rows'> {
  const style = q.granularity === 'hourly' ? 'z' : 'offset';
  const offset = q.granularity === 'hourly' ? 0 : q.tzMin;
  return {
    app_id: q.appId,
    granularity: q.granularity,
    from: formatInstant(q.fromMs, offset, style),
    to: formatInstant(q.toMs, offset, style),
    tz: formatTz(q.tzMin),
    boundary: coverage.boundary === null ? null : formatInstant(Date.parse(coverage.boundary), 0, 'z'),
  };
}

export async function runReport(ch: ClickHouseClient, q: ReportQuery, maxRows: number): Promise<ReportResponse> {
  // Read per request, not cached: the batch layer may have just swapped a day in, and labels
  // and table choice must agree with what the views hold now.
  const coverage = await readCoverage(ch);
  const covered = new Set(coverage.covered_days);
  let rows: ReportResponse['rows'] = [];
  if (q.hiMs > q.loMs) {
    const { sql, params } = buildReportSql(q, planSources(q, covered), maxRows);
    // JSONCompact: one array per row, parsed in one go (see shapeCompactReportRows).
    const rs = await ch.query({ query: sql, query_params: params, format: 'JSONCompact' });
    const result: ResponseJSON<ReportValue[]> = await rs.json<ReportValue[]>();
    if (result.data.length > maxRows) throw tooMany(maxRows);
    rows = shapeCompactReportRows(q, (result.meta ?? []).map((c) => c.name), result.data, covered);
  }
  return { ...head(q, coverage), rows };
}

/** Every bucket start of the report with its ISO text and source label, as shapeCompactReportRows renders them. */
function reportBuckets(q: ReportQuery, covered: ReadonlySet<string>): ReportBuckets {
  const style = q.granularity === 'hourly' ? 'z' : 'offset';
  const offset = q.granularity === 'hourly' ? 0 : q.tzMin;
  const step = q.granularity === 'hourly' ? HOUR_MS : DAY_MS;
  const b: ReportBuckets = { starts: [], texts: [], sources: [] };
  for (let t = q.loMs; t < q.hiMs; t += step) {
    b.starts.push(t / 1000);
    b.texts.push(formatInstant(t, offset, style));
    b.sources.push(bucketSource(t, q.granularity, covered));
  }
  return b;
}

/**
 * The report as its JSON response body, equal to `JSON.stringify(await runReport(…))`
 * parsed: ClickHouse writes the rows array, Node only wraps it.
 */
export async function runReportJson(ch: ClickHouseClient, q: ReportQuery, maxRows: number): Promise<string> {
  const coverage = await readCoverage(ch);
  const covered = new Set(coverage.covered_days);
  let rows = '[]';
  if (q.hiMs > q.loMs) {
    const { sql, params } = buildReportJsonSql(q, planSources(q, covered), maxRows, reportBuckets(q, covered));
    const rs = await ch.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    rows = (await rs.text()).trimEnd();
    // One row per line: JSON strings cannot hold a raw newline.
    let n = 0;
    for (let i = rows.indexOf('\n{'); i >= 0; i = rows.indexOf('\n{', i + 2)) n++;
    if (n > maxRows) throw tooMany(maxRows);
  }
  const top = JSON.stringify(head(q, coverage));
  return `${top.slice(0, -1)},"rows":${rows}}`;
}
