/**
 * From a validated query string to a report request: names checked against the catalogue
 * (schemas/views.ts), times resolved in `tz`, the range checked against the limits, and the
 * span of hours whose buckets start in [from, to). Pure; every failure is a 400 that says
 * what is allowed.
 */
import { AppError } from '../../infra/errors';
import type { Config } from '../../infra/config';
import { DIMENSIONS, METRIC_NAMES, type Dimension, type Metric } from '../../schemas/views';
import { DEFAULT_METRICS, type Granularity, type ReportQueryInput } from './report-schemas';
import { DAY_MS, HOUR_MS, TIME_RULE, TZ_RULE, ceilTo, parseReadTime, parseTz } from './report-time';

export type ReportLimits = Pick<Config['limits'], 'maxReportDaysHourly' | 'maxReportDaysDaily' | 'maxReportRows'>;

export interface ReportQuery {
  appId: string;
  granularity: Granularity;
  /** The requested instants, epoch ms. */
  fromMs: number;
  toMs: number;
  /** Minutes east of UTC; whole hours. */
  tzMin: number;
  metrics: Metric[];
  groupBy: Dimension[];
  /** Only dimensions with a filter; values OR-ed within a dimension, dimensions AND-ed. */
  filters: Partial<Record<Dimension, string[]>>;
  /** Hours [loMs, hiMs) of the buckets starting in [fromMs, toMs); loMs === hiMs: none. */
  loMs: number;
  hiMs: number;
}

const bad = (msg: string) => new AppError('bad_request', msg);
const UPPER_CASE_DIMENSIONS: ReadonlySet<Dimension> = new Set(['country', 'currency']);

function parseList<T extends string>(raw: string | undefined, allowed: readonly T[], what: string, fallback: readonly T[]): T[] {
  if (raw === undefined) return [...fallback];
  const names = raw.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (unknown.length) {
    const shown = unknown.map((u) => JSON.stringify(u.slice(0, 64))).join(', ');
    throw bad(`unknown ${what}(s) ${shown}; allowed: ${allowed.join(', ')}`);
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw bad(`${what} ${dup} is listed twice`);
  return names as T[];
}

export function parseReportQuery(appId: string, granularity: Granularity, q: ReportQueryInput, limits: ReportLimits): ReportQuery {
  const metrics = parseList(q.metrics, METRIC_NAMES, 'metric', DEFAULT_METRICS);
  const groupBy = parseList(q.group_by, DIMENSIONS, 'group_by dimension', []);

  const filters: ReportQuery['filters'] = {};
  for (const dim of DIMENSIONS) {
    const values = q[`filter.${dim}`];
    // The collector stores country and currency upper-case whatever the case sent (docs/semantics.md), so filter.country=us means US.
    if (values !== undefined) filters[dim] = [...new Set(UPPER_CASE_DIMENSIONS.has(dim) ? values.map((v) => v.toUpperCase()) : values)];
  }

  const tzMin = q.tz === undefined ? 0 : parseTz(q.tz);
  if (tzMin === undefined) throw bad(TZ_RULE);
  const fromMs = parseReadTime(q.from, tzMin);
  if (fromMs === undefined) throw bad(`from ${TIME_RULE}, between 2000-01-01 and 2105-01-01`);
  const toMs = parseReadTime(q.to, tzMin);
  if (toMs === undefined) throw bad(`to ${TIME_RULE}, between 2000-01-01 and 2105-01-01`);
  if (toMs <= fromMs) throw bad('to must be later than from (the range is [from, to))');

  const maxDays = granularity === 'hourly' ? limits.maxReportDaysHourly : limits.maxReportDaysDaily;
  if (toMs - fromMs > maxDays * DAY_MS) {
    throw bad(`${granularity === 'hourly' ? 'an' : 'a'} ${granularity} report covers at most ${maxDays} days (MAX_REPORT_DAYS_${granularity.toUpperCase()}); narrow from/to`);
  }

  // Buckets starting in [from, to): the first bucket edge at or after `from` up to the first
  // edge at or after `to`. Daily edges are midnights in tz, i.e. UTC edges shifted by tz.
  const unit = granularity === 'hourly' ? HOUR_MS : DAY_MS;
  const shift = granularity === 'hourly' ? 0 : tzMin * 60_000;
  const loMs = ceilTo(fromMs, unit, shift);
  const hiMs = Math.max(loMs, ceilTo(toMs, unit, shift));
  return { appId, granularity, fromMs, toMs, tzMin, metrics, groupBy, filters, loMs, hiMs };
}
