/**
 * `GET /v1/apps/{app}/attributions`: parameters, keyset cursor and the one SQL statement.
 * Installs of covered UTC days come from `attributions_batch`, the others from
 * `attributions_rt`, a ReplacingMergeTree versioned by `decided_at`, read with FINAL so a
 * re-decided install appears once, as last decided (the batch view holds one run's decisions
 * per day, one row per install).
 */
import { AppError } from '../../infra/errors';
import type { Config } from '../../infra/config';
import type { SourcePlan } from '../reports/merge-sources';
import { DAY_MS, TIME_RULE, parseReadTime } from '../reports/report-time';
import type { AttributionRow, AttributionsQueryInput } from './attribution-schemas';

export interface AttributionsQuery {
  appId: string;
  fromMs: number;
  toMs: number;
  channel?: string;
  outcome?: string;
  limit: number;
  after?: { tsMs: number; id: string };
}

const bad = (msg: string) => new AppError('bad_request', msg);

/** Opaque to clients: base64url of the last row's (ts, install_event_id). */
export const encodeCursor = (tsMs: number, id: string): string => Buffer.from(JSON.stringify([tsMs, id]), 'utf8').toString('base64url');

export function decodeCursor(cursor: string): { tsMs: number; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && v[1].length <= 128) {
      return { tsMs: v[0] as number, id: v[1] };
    }
  } catch {
    // fall through: any undecodable cursor gets the same answer
  }
  throw bad('cursor is not a next_cursor returned by this route');
}

export function parseAttributionsQuery(appId: string, q: AttributionsQueryInput, limits: Pick<Config['limits'], 'maxReportDaysDaily'>): AttributionsQuery {
  const fromMs = parseReadTime(q.from, 0);
  if (fromMs === undefined) throw bad(`from ${TIME_RULE}, between 2000-01-01 and 2105-01-01`);
  const toMs = parseReadTime(q.to, 0);
  if (toMs === undefined) throw bad(`to ${TIME_RULE}, between 2000-01-01 and 2105-01-01`);
  if (toMs <= fromMs) throw bad('to must be later than from (the range is [from, to))');
  if (toMs - fromMs > limits.maxReportDaysDaily * DAY_MS) throw bad(`the range covers at most ${limits.maxReportDaysDaily} days (MAX_REPORT_DAYS_DAILY)`);
  return { appId, fromMs, toMs, channel: q.channel, outcome: q.outcome, limit: q.limit, after: q.cursor === undefined ? undefined : decodeCursor(q.cursor) };
}

const COLUMNS = 'install_event_id, device_id, ts, outcome, match, click_event_id, channel, campaign_id, ctit_ms, fraud_reason';

export function buildAttributionsSql(q: AttributionsQuery, plan: SourcePlan): { sql: string; params: Record<string, unknown> } {
  const params: Record<string, unknown> = { app: q.appId, from: q.fromMs, to: q.toMs, limit: q.limit + 1 };
  const where = [
    'app_id = {app:String}',
    "ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')",
    "ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')",
  ];
  if (q.channel !== undefined) {
    params.channel = q.channel;
    where.push('channel = {channel:String}');
  }
  if (q.outcome !== undefined) {
    params.outcome = q.outcome;
    where.push('outcome = {outcome:String}');
  }
  if (q.after) {
    params.after_ts = q.after.tsMs;
    params.after_id = q.after.id;
    where.push("(ts, install_event_id) > (fromUnixTimestamp64Milli({after_ts:Int64}, 'UTC'), {after_id:String})");
  }
  // attributions_rt is a ReplacingMergeTree (FINAL: the latest decision); attributions_batch a
  // view of one run's rows per day, which hold one row per install.
  const side = (table: 'attributions_batch' | 'attributions_rt', source: string, dayTest?: string) =>
    `SELECT ${COLUMNS}, '${source}' AS source FROM ${table}${table === 'attributions_rt' ? ' FINAL' : ''} WHERE ${[...where, ...(dayTest ? [dayTest] : [])].join(' AND ')}`;
  const parts: string[] = [];
  if (plan.batch) parts.push(side('attributions_batch', 'batch', plan.speed ? 'toDate(ts) IN {covered:Array(Date)}' : undefined));
  if (plan.speed) parts.push(side('attributions_rt', 'speed', plan.batch ? 'toDate(ts) NOT IN {covered:Array(Date)}' : undefined));
  if (plan.batch && plan.speed) params.covered = plan.coveredDays;
  const sql =
    `SELECT install_event_id, device_id, toUnixTimestamp64Milli(ts) AS ts_ms, outcome, match, click_event_id, channel, campaign_id, ctit_ms, fraud_reason, source ` +
    `FROM (${parts.join(' UNION ALL ')}) ORDER BY ts_ms, install_event_id LIMIT {limit:UInt32}`;
  return { sql, params };
}

export interface RawAttributionRow {
  install_event_id: string;
  device_id: string;
  ts_ms: number | string;
  outcome: string;
  match: string;
  click_event_id: string;
  channel: string;
  campaign_id: string;
  ctit_ms: number | string | null;
  fraud_reason: string;
  source: 'batch' | 'speed';
}

/** '' in the views means "does not apply": null in the API. */
const orNull = (s: string): string | null => (s === '' ? null : s);

export function shapeAttributionRow(r: RawAttributionRow): AttributionRow {
  const hasClick = r.click_event_id !== '';
  return {
    install_event_id: r.install_event_id,
    device_id: r.device_id,
    ts: new Date(Number(r.ts_ms)).toISOString(),
    outcome: r.outcome as AttributionRow['outcome'],
    match: orNull(r.match) as AttributionRow['match'],
    click_event_id: orNull(r.click_event_id),
    channel: r.channel,
    campaign_id: r.campaign_id,
    ctit_ms: hasClick && r.ctit_ms !== null ? Number(r.ctit_ms) : null,
    fraud_reason: orNull(r.fraud_reason),
    source: r.source,
  };
}
