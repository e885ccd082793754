/**
 * Applies written `events_rt` rows to the speed views: one flush group at a time (the offset
 * ranges of one or more partitions written by one insert, see ../group-commit.ts). Each view
 * gets one INSERT … SELECT per event date with a deduplication token naming the view, the
 * group and the date, so applying a group twice (after a crash between the inserts) counts
 * it once. The SELECTs read the rows
 * back in ClickHouse, where the distinct-device states are built.
 *
 * Which inserts a group needs (its event dates; whether it has errors, and clicks with ip and
 * ua) is planned from the rows in hand, or read back from events_rt when redoing a group
 * after a restart: the same rows give the same plan, and so the same tokens. Every statement
 * writes a part, which costs milliseconds whatever its size, so none is sent that would
 * insert nothing.
 */
import type { ClickHouseClient } from '@clickhouse/client';

/** Offsets first..last of one partition's events_rt rows. */
export interface OffsetRange {
  partition: number;
  first: number;
  last: number;
}

/** A flush group: its ranges, and what its tokens are made of. */
export interface ViewsWrite {
  /** `g<uuid>`: the group's id. */
  tokenBase: string;
  ranges: readonly OffsetRange[];
  /** The group's id: only its own rows of the ranges are applied (a member that lost a partition may have written the same offsets in a group of its own). */
  group: string;
  /** The condition each insert carries: the member still owns the partitions (../partition-owners.ts). */
  fence: string;
}

/** The inserts one event date of a group needs: hourly_rt and realtime_rt always. */
export interface DayPlan {
  day: string;
  clicks: boolean;
  errors: boolean;
}

// One insert per view and event date, with max_threads = 1: each insert is one block in one
// partition, so a token always names the same block. (A multi-partition insert is split into
// blocks whose numbering, and so whose derived tokens, need not repeat on a retry.)
const SETTINGS = 'SETTINGS insert_deduplication_token = {token:String}, max_threads = 1';

/**
 * Each view's rows from rows shaped as events_rt's in `source` that pass `where`: the speed
 * layer's inserts (VIEW_INSERTS) and the speed bench's views floor, which has them as
 * materialized views of one insert.
 */
export const VIEW_SELECTS: Record<string, (source: string, where: string) => string> = {
  hourly_rt: (source, where) => `
    SELECT app_id, toStartOfHour(ts) AS hour, type, name, country, os, app_version, currency, error_type,
           channel, campaign_id, fraud_reason, install_kind,
           toUInt64(count()) AS events, sum(revenue_micros) AS revenue_micros, uniqExactState(device_id) AS uv
    FROM ${source} WHERE ${where}
    GROUP BY app_id, hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id, fraud_reason, install_kind`,
  realtime_rt: (source, where) => `
    SELECT app_id, toDateTime(ts) AS second,
           toUInt64(count()) AS events,
           toUInt64(countIf(type = 'click')) AS clicks,
           toUInt64(countIf(install_kind IN ('attributed', 'organic', 'rejected'))) AS installs,
           toUInt64(countIf(type = 'error')) AS errors,
           uniqExactState(device_id) AS uv
    FROM ${source} WHERE ${where}
    GROUP BY app_id, second`,
  clicks_by_ip_ua_rt: (source, where) => `
    SELECT app_id, ip, ua, ts, event_id, channel, campaign_id, kafka_partition
    FROM ${source} WHERE ${where} AND type = 'click' AND ip != '' AND ua != ''`,
  errors_rt: (source, where) => `
    SELECT app_id, toStartOfMinute(ts) AS minute, fingerprint, error_type,
           toUInt64(count()) AS count, any(error_message) AS sample_message, max(ts) AS last_seen
    FROM ${source} WHERE ${where} AND type = 'error'
    GROUP BY app_id, minute, fingerprint, error_type`,
};

const VIEW_INSERTS = (view: string, where: string) => `INSERT INTO ${view} ${VIEW_SELECTS[view]('events_rt', where)}
    ${SETTINGS}`;

/** The group's rows of the ranges, as a condition the primary key (kafka_partition, kafka_offset) serves. */
function rangesCondition(ranges: readonly OffsetRange[], group: string): { sql: string; params: Record<string, number | string> } {
  const params: Record<string, number | string> = { group };
  const terms = ranges.map((r, i) => {
    Object.assign(params, { [`p${i}`]: r.partition, [`f${i}`]: r.first, [`l${i}`]: r.last });
    return `(kafka_partition = {p${i}:UInt16} AND kafka_offset BETWEEN {f${i}:UInt64} AND {l${i}:UInt64})`;
  });
  return { sql: `(${terms.join(' OR ')}) AND flush_group = {group:String}`, params };
}

const DAY_MS = 86_400_000;
/** Year 10000: past it toISOString writes six-digit years. */
const FAST_LIMIT_MS = 253_402_300_800_000;

/**
 * The plan of a group, noted row by row as its rows are decided (the same answer as
 * planOfWritten on the written rows). A row's date is toDate(ts) in UTC of its time truncated
 * to the millisecond, as events_rt stores it.
 */
export class DayPlans {
  private readonly days = new Map<number, DayPlan>();
  /** Runs of rows share a day: the map is looked up only when it changes. */
  private lastDay = NaN;
  private last: DayPlan | undefined;

  note(tsMs: number, type: string, ip: string, ua: string): void {
    const ms = Math.trunc(tsMs);
    const day = ms >= 0 && ms < FAST_LIMIT_MS ? Math.floor(ms / DAY_MS) : ms;
    let d = this.last;
    if (day !== this.lastDay || d === undefined) {
      d = this.days.get(day);
      if (!d) this.days.set(day, (d = { day: new Date(ms).toISOString().slice(0, 10), clicks: false, errors: false }));
      this.lastDay = day;
      this.last = d;
    }
    if (type === 'click' && ip !== '' && ua !== '') d.clicks = true;
    else if (type === 'error') d.errors = true;
  }

  merge(other: DayPlans): void {
    for (const [day, o] of other.days) {
      const d = this.days.get(day);
      if (!d) this.days.set(day, { ...o });
      else {
        d.clicks ||= o.clicks;
        d.errors ||= o.errors;
      }
    }
  }

  list(): DayPlan[] {
    return [...this.days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
  }
}

async function planOfWritten(ch: ClickHouseClient, ranges: readonly OffsetRange[], group: string): Promise<DayPlan[]> {
  const where = rangesCondition(ranges, group);
  const rs = await ch.query({
    query: `SELECT toString(toDate(ts)) AS day, countIf(type = 'click' AND ip != '' AND ua != '') > 0 AS clicks, countIf(type = 'error') > 0 AS errors
            FROM events_rt WHERE ${where.sql}
            GROUP BY day ORDER BY day`,
    query_params: where.params,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ day: string; clicks: number | boolean; errors: number | boolean }>()).map((r) => ({ day: r.day, clicks: Boolean(r.clicks), errors: Boolean(r.errors) }));
}

/**
 * Applies a flush group's rows to the views. `plan`: when the caller has the rows. `pool`: clients whose statements run at the
 * same time (see ClickHouseHandle.concurrent); the view inserts are independent of one another
 * (each its own token), so they are spread over it.
 */
export async function applyToViews(ch: ClickHouseClient, write: ViewsWrite, plan?: DayPlan[], pool: readonly ClickHouseClient[] = [ch]): Promise<void> {
  const where = rangesCondition(write.ranges, write.group);
  const statements: { query: string; query_params: Record<string, unknown> }[] = [];
  for (const d of plan ?? (await planOfWritten(ch, write.ranges, write.group))) {
    for (const view of Object.keys(VIEW_SELECTS)) {
      // clicks_by_ip_ua_rt is state the next group's decisions read: written with the state
      // (../sql/state.sql), before them.
      if (view === 'clicks_by_ip_ua_rt' || (view === 'errors_rt' && !d.errors)) continue;
      const condition = `${where.sql} AND toDate(ts) = {day:Date} AND ${write.fence}`;
      statements.push(inlined(VIEW_INSERTS(view, condition), { ...where.params, day: d.day, token: `${view}:${write.tokenBase}:${d.day}` }));
    }
  }
  await runSideBySide(pool, statements);
}

/**
 * Runs independent statements spread over the pool's clients. After a failure no further
 * statement starts, and the first error is thrown once the running ones have ended (a redo then
 * finds nothing of this attempt still being written).
 */
export async function runSideBySide(pool: readonly ClickHouseClient[], statements: readonly { query: string; query_params: Record<string, unknown> }[]): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  await Promise.all(
    pool.slice(0, statements.length).map(async (client) => {
      while (!failed && next < statements.length) {
        try {
          await client.command(statements[next++]);
        } catch (err) {
          failed ??= { err };
        }
      }
    }),
  );
  if (failed) throw failed.err;
}

/**
 * The statement with its parameters written into the SQL when every one is an offset, a
 * partition, a plain date or a token of our own making (checked here, so nothing else can be
 * written in): chDB runs parameterised statements one at a time across the process, plain ones
 * side by side. Any other value stays a query parameter.
 */
export function inlined(query: string, params: Record<string, unknown>): { query: string; query_params: Record<string, unknown> } {
  let plain = true;
  const sql = query.replace(/\{(\w+):(\w+)\}/g, (placeholder, name: string, type: string) => {
    const v = params[name];
    if ((type === 'UInt16' || type === 'UInt64') && Number.isSafeInteger(v) && (v as number) >= 0) return String(v);
    if (type === 'Date' && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return `toDate('${v}')`;
    if (type === 'String' && typeof v === 'string' && /^[\w:.-]*$/.test(v)) return `'${v}'`;
    plain = false;
    return placeholder;
  });
  return plain ? { query: sql, query_params: {} } : { query, query_params: params };
}

/** The last offset applied to the views, per the progress table (-1: none). */
export async function viewsThrough(ch: ClickHouseClient, partition: number): Promise<number> {
  const rs = await ch.query({
    query: 'SELECT max(views_through) AS o, count() AS n FROM speed_progress WHERE kafka_partition = {p:UInt16}',
    query_params: { p: partition },
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ o: string; n: string }>();
  return r && Number(r.n) > 0 ? Number(r.o) : -1;
}
