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
  return reportSelect(q, plan, maxRows, 'bucket', true);
}

/**
 * The same report with its rows rendered by ClickHouse as the JSON text of DESIGN.md section 5
 * (one `{"bucket", "source", <dims>, <metrics>}` per line, in order), so that Node only joins them: for
 * reports of 10^5 rows, parsing the result, building one object per row and serialising them
 * again cost more than the query. Bucket texts and source labels come from `buckets` (every
 * bucket start of the report, rendered by the caller) through query parameters; numbers are
 * written as JavaScript writes them (UInt64 unquoted; revenue as micro-units / 1e6 in Float64,
 * whose shortest text equals JavaScript's for every Int64).
 */
export function buildReportJsonSql(q: ReportQuery, plan: SourcePlan, maxRows: number, buckets: ReportBuckets): BuiltQuery {
  const { sql, params } = reportSelect(q, plan, maxRows, 'bucket_s', false);
  params.b_at = buckets.starts;
  params.b_text = buckets.texts;
  params.b_source = buckets.sources;
  const at = 'toInt64(r.bucket_s)';
  const select = [
    `transform(${at}, {b_at:Array(Int64)}, {b_text:Array(String)}, '') AS bucket`,
    `transform(${at}, {b_at:Array(Int64)}, {b_source:Array(String)}, '') AS source`,
    ...q.groupBy.map((d) => `r.${d} AS ${d}`),
    ...q.metrics.map((m) => `${m === 'revenue' ? `r.${metricAlias(m)} / 1e6` : `r.${metricAlias(m)}`} AS ${m}`),
  ];
  const keys = ['r.bucket_s', ...q.groupBy.map((d) => `r.${d}`)].join(', ');
  return {
    sql:
      `SELECT ${select.join(', ')} FROM (${sql}) AS r ORDER BY ${keys} LIMIT {limit:UInt32} SETTINGS ` +
      'output_format_json_quote_64bit_integers = 0, output_format_json_quote_denormals = 0, ' +
      'output_format_json_escape_forward_slashes = 0, output_format_json_validate_utf8 = 1',
    params,
  };
}

/** Every bucket of a report as `buildReportJsonSql` labels them: start (epoch seconds), ISO text, source. */
export interface ReportBuckets {
  starts: number[];
  texts: string[];
  sources: string[];
}

function reportSelect(q: ReportQuery, plan: SourcePlan, maxRows: number, bucketAlias: string, ordered: boolean): BuiltQuery {
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
  const select = [`${bucket} AS ${bucketAlias}`, ...q.groupBy, ...q.metrics.map((m) => `${METRICS[m]} AS ${metricAlias(m)}`)];
  const keys = [bucketAlias, ...q.groupBy].join(', ');
  const sql =
    `SELECT ${select.join(', ')} FROM ${from} GROUP BY ${keys}` +
    // Rows exist only for groups with at least one event that passed the filters.
    ` HAVING sum(events) > 0${ordered ? ` ORDER BY ${keys} LIMIT {limit:UInt32}` : ''}`;
  return { sql, params };
}
