/**
 * The one SQL statement of a report. Identifiers come only from the catalogue
 * (schemas/views.ts) and values only through ClickHouse query parameters, so no user text
 * reaches the SQL. Hours of covered days are read from `hourly_batch`, the others from
 * `hourly_rt`; when a report spans both, their rows meet in a UNION ALL before aggregation,
 * so distinct counts merge as states (`uniqExactMerge`) and a device seen on both sides of
 * the seam counts once.
 */
import { METRICS, type Dimension, type Metric } from '../../schemas/views';
import type { ReportQuery } from './parse-report-query';
import type { SourcePlan } from './merge-sources';

export interface BuiltQuery {
  sql: string;
  params: Record<string, unknown>;
}

/** Result aliases are prefixed: an alias named like a column (`events`) would shadow that column inside the other aggregates. */
export const metricAlias = (m: Metric) => `m_${m}`;

/** The columns the metrics read, beyond the group dimensions; `uv` states only when asked for (merging them dominates the cost). */
function valueColumns(metrics: readonly Metric[]): string[] {
  const cols = new Set(['events']);
  for (const m of metrics) {
    if (m === 'uv') cols.add('uv');
    else if (m === 'revenue') cols.add('revenue_micros');
    else if (METRICS[m].includes('install_kind')) cols.add('install_kind');
    else if (METRICS[m].includes('type =')) cols.add('type');
  }
  return [...cols];
}

/** `YYYY-MM-DD hh:mm:ss` for a `{name:DateTime('UTC')}` parameter. */
const chDateTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

export function buildReportSql(q: ReportQuery, plan: SourcePlan, maxRows: number): BuiltQuery {
  const params: Record<string, unknown> = {
    app: q.appId,
    lo: chDateTime(q.loMs),
    hi: chDateTime(q.hiMs),
    limit: maxRows + 1, // one more than allowed, to tell "too many groups" from "exactly full"
  };
  const where = ['app_id = {app:String}', "hour >= {lo:DateTime('UTC')}", "hour < {hi:DateTime('UTC')}"];
  for (const [dim, values] of Object.entries(q.filters) as [Dimension, string[]][]) {
    params[`f_${dim}`] = values;
    where.push(`${dim} IN {f_${dim}:Array(String)}`);
  }

  const columns = [...new Set(['hour', ...q.groupBy, ...Object.keys(q.filters), ...valueColumns(q.metrics)])].join(', ');
  const side = (table: 'hourly_batch' | 'hourly_rt', dayTest?: string) =>
    `SELECT ${columns} FROM ${table} WHERE ${[...where, ...(dayTest ? [dayTest] : [])].join(' AND ')}`;
  let from: string;
  if (plan.batch && plan.speed) {
    params.covered = plan.coveredDays;
    from = `(${side('hourly_batch', 'toDate(hour) IN {covered:Array(Date)}')} UNION ALL ${side('hourly_rt', 'toDate(hour) NOT IN {covered:Array(Date)}')})`;
  } else {
    from = `(${side(plan.batch ? 'hourly_batch' : 'hourly_rt')})`;
  }

  // Bucket starts as epoch seconds. Daily: days in tz = UTC days of (hour + offset), shifted
  // back; times are >= 2000 so the sum never goes negative (intDiv rounds toward zero).
  let bucket = 'toUnixTimestamp(hour)';
  if (q.granularity === 'daily') {
    params.tz_s = q.tzMin * 60;
    bucket = 'intDiv(toInt64(toUnixTimestamp(hour)) + {tz_s:Int32}, 86400) * 86400 - {tz_s:Int32}';
  }
  const select = [`${bucket} AS bucket`, ...q.groupBy, ...q.metrics.map((m) => `${METRICS[m]} AS ${metricAlias(m)}`)];
  const keys = ['bucket', ...q.groupBy].join(', ');
  const sql =
    `SELECT ${select.join(', ')} FROM ${from} GROUP BY ${keys}` +
    // Rows exist only for groups with at least one event that passed the filters.
    ` HAVING sum(events) > 0 ORDER BY ${keys} LIMIT {limit:UInt32}`;
  return { sql, params };
}
