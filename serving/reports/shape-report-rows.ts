/**
 * From ClickHouse result rows to the report rows of DESIGN.md section 5: bucket start as
 * ISO-8601, the source label, group values, metrics (revenue from micro-units). Only
 * renaming and formatting here: every number is computed by the query.
 */
import type { Metric } from '../../schemas/views';
import { metricAlias } from './build-report-sql';
import { bucketSource } from './merge-sources';
import type { ReportQuery } from './parse-report-query';
import type { ReportRow } from './report-schemas';
import { formatInstant } from './report-time';

export type RawReportRow = { bucket: number | string } & Record<string, string | number>;

/**
 * micro-units → units. Integer micros below 2^53 divided by 1e6 give the double nearest the
 * exact decimal, which JavaScript prints with at most 6 decimals.
 */
const renderMetric = (m: Metric, v: string | number): number => (m === 'revenue' ? Number(v) / 1e6 : Number(v));

export function shapeReportRows(q: ReportQuery, raw: RawReportRow[], covered: ReadonlySet<string>): ReportRow[] {
  const names = ['bucket', ...q.groupBy, ...q.metrics.map(metricAlias)];
  return shapeCompactReportRows(q, names, raw.map((r) => names.map((n) => r[n])), covered);
}

/**
 * The same from `JSONCompact` rows (arrays of values, columns named by `names`): ClickHouse
 * writes and Node parses them at a fraction of the cost of one JSON object per row, which
 * matters for reports of 10^5 rows.
 */
export function shapeCompactReportRows(q: ReportQuery, names: readonly string[], data: readonly (readonly (string | number)[])[], covered: ReadonlySet<string>): ReportRow[] {
  const style = q.granularity === 'hourly' ? 'z' : 'offset';
  const offset = q.granularity === 'hourly' ? 0 : q.tzMin;
  const at = (name: string) => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`report query returned no column ${name}`);
    return i;
  };
  const bucketAt = at('bucket');
  const dims = q.groupBy.map((d) => [d, at(d)] as const);
  const metrics = q.metrics.map((m) => [m, at(metricAlias(m))] as const);
  const labels = new Map<number, { bucket: string; source: ReportRow['source'] }>(); // rows of one bucket share these
  return data.map((r) => {
    const startMs = Number(r[bucketAt]) * 1000;
    let label = labels.get(startMs);
    if (!label) {
      label = { bucket: formatInstant(startMs, offset, style), source: bucketSource(startMs, q.granularity, covered) };
      labels.set(startMs, label);
    }
    const row: ReportRow = { bucket: label.bucket, source: label.source };
    for (const [d, i] of dims) row[d] = String(r[i]);
    for (const [m, i] of metrics) row[m] = renderMetric(m, r[i]);
    return row;
  });
}
