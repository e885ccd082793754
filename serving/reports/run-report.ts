/**
 * A report end to end: coverage, the one report query, shaping. Used by the report routes and
 * by the live stream's "today" counters.
 */
import type { ClickHouseClient, ResponseJSON } from '@clickhouse/client';
import { AppError } from '../../infra/errors';
import { readCoverage } from '../../infra/clickhouse/coverage';
import { buildReportSql } from './build-report-sql';
import { planSources } from './merge-sources';
import type { ReportQuery } from './parse-report-query';
import type { ReportResponse } from './report-schemas';
import { formatInstant, formatTz } from './report-time';
import { shapeCompactReportRows } from './shape-report-rows';

type ReportValue = string | number;

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
    if (result.data.length > maxRows) {
      throw new AppError('bad_request', `too many groups: the report has more than ${maxRows} rows (MAX_REPORT_ROWS); narrow the range, group_by or filters`);
    }
    rows = shapeCompactReportRows(q, (result.meta ?? []).map((c) => c.name), result.data, covered);
  }
  const style = q.granularity === 'hourly' ? 'z' : 'offset';
  const offset = q.granularity === 'hourly' ? 0 : q.tzMin;
  return {
    app_id: q.appId,
    granularity: q.granularity,
    from: formatInstant(q.fromMs, offset, style),
    to: formatInstant(q.toMs, offset, style),
    tz: formatTz(q.tzMin),
    boundary: coverage.boundary === null ? null : formatInstant(Date.parse(coverage.boundary), 0, 'z'),
    rows,
  };
}
