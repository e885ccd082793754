/**
 * A report end to end: coverage, the one report query, shaping. `runReport` gives the rows as
 * objects (the live stream's "today" counters); `runReportJson` gives the response body of the
 * report routes, with the rows rendered by ClickHouse (see buildReportJsonSql).
 */
import type { ClickHouseClient, ResponseJSON } from '@clickhouse/client';
import { AppError } from '../../infra/errors';
import { readCoverage, type Coverage } from '../../infra/clickhouse/coverage';
import { buildReportJsonSql, buildReportSql, type ReportBuckets } from './build-report-sql';
import { bucketSource, planSources, reportSegments, type ReportSegment } from './merge-sources';
import type { ReportQuery } from './parse-report-query';
import type { ReportResponse } from './report-schemas';
import { segmentKey, type SegmentCache, type SegmentRows } from './segment-cache';
import { readSpeedVersions } from './speed-versions';
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
 * parsed, as UTF-8 chunks to send in order (a 20 MB report is not copied into one buffer):
 * ClickHouse writes the rows, Node only joins them. Segments (an hourly report's UTC days, a
 * daily report's buckets) come from `cache` when a previous report rendered them from the same
 * views (segment-cache.ts); one query computes the span from the first segment not cached to
 * the last, and its segments are cached for the next report.
 */
export async function runReportJson(ch: ClickHouseClient, q: ReportQuery, maxRows: number, cache: SegmentCache): Promise<Buffer[]> {
  // Coverage, then the speed parts, then the query (see readSpeedVersions).
  const coverage = await readCoverage(ch);
  const covered = new Set(coverage.covered_days);
  const segments = reportSegments(q);
  const speed = await readSpeedVersions(ch, [...new Set(segments.flatMap((s) => s.days))].filter((d) => !covered.has(d)));
  // The prefix keeps a day's batch and speed versions apart.
  const dayVersion = (d: string) => (covered.has(d) ? `batch ${coverage.versions.get(d)}` : `speed ${speed.get(d)}`);
  const keys = segments.map((s) => segmentKey(q, s, dayVersion));
  const parts: (SegmentRows | undefined)[] = keys.map((k) => cache.get(k));
  const missing = parts.flatMap((p, i) => (p === undefined ? [i] : []));
  if (missing.length > 0) {
    const first = missing[0];
    const last = missing[missing.length - 1];
    const span: ReportQuery = { ...q, loMs: segments[first].loMs, hiMs: segments[last].hiMs };
    const buckets = reportBuckets(span, covered);
    const { sql, params } = buildReportJsonSql(span, planSources(span, covered), maxRows, buckets);
    const rs = await ch.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    const text = await rs.text();
    // One row per line (JSON strings cannot hold a raw newline), each starting {"bucket":"<text>".
    const lines = text === '' ? [] : text.trimEnd().split('\n');
    if (lines.length > maxRows) throw tooMany(maxRows);
    const segmentOf = new Map(buckets.texts.map((t, i) => [t, segmentIndex(segments, buckets.starts[i] * 1000)]));
    const fresh: string[][] = segments.map(() => []);
    for (const line of lines) {
      const i = segmentOf.get(line.slice(BUCKET_AT, line.indexOf('"', BUCKET_AT)));
      if (i === undefined) throw new Error(`report row outside its buckets: ${line.slice(0, 80)}`);
      fresh[i].push(line);
    }
    for (let i = first; i <= last; i++) {
      const rows = fresh[i];
      parts[i] = { json: Buffer.from(rows.join(','), 'utf8'), rows: rows.length };
      cache.set(keys[i], parts[i]!);
    }
  }
  let n = 0;
  const top = JSON.stringify(head(q, coverage));
  const body: Buffer[] = [Buffer.from(`${top.slice(0, -1)},"rows":[`)];
  for (const p of parts) {
    n += p!.rows;
    if (p!.rows === 0) continue;
    if (body.length > 1) body.push(COMMA);
    body.push(p!.json);
  }
  if (n > maxRows) throw tooMany(maxRows);
  body.push(CLOSE);
  return body;
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

/** Where a row's bucket text starts in its line: after `{"bucket":"`. */
const BUCKET_AT = '{"bucket":"'.length;

/** The segment holding the bucket that starts at `startMs` (segments are ascending and adjacent). */
function segmentIndex(segments: readonly ReportSegment[], startMs: number): number {
  return segments.findIndex((s) => startMs >= s.loMs && startMs < s.hiMs);
}
