/**
 * Reference answers of the serving routes (DESIGN.md sections 5 and 7) from archived events:
 * hourly and daily reports, first-install attributions and top errors. The end-to-end tests
 * compare the system's numbers with these, so this module favours obviousness over speed
 * (one pass over the winning events per query).
 */
import { isCountedType, type ArchivedEvent } from '../../schemas/event';
import { errorFingerprint } from '../../schemas/fingerprint';
import { attributeInstalls, deviceKey, type AttributionResult, type InstallDecision, type Outcome, type ReferenceSettings } from './attribution';
import { compareBytes, compareByteTuples } from './byte-order';
import { dedupEvents } from './dedup';
import { DIMENSIONS, eventDimensions, isReinstall, type Dimension, type EventDimensions } from './dimensions';

export const METRICS = [
  'events',
  'uv',
  'impressions',
  'clicks',
  'installs',
  'reinstalls',
  'attributed_installs',
  'organic_installs',
  'rejected_installs',
  'launches',
  'custom_events',
  'purchases',
  'revenue',
  'errors',
] as const;
export type Metric = (typeof METRICS)[number];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Everything derived once from a set of archived events. */
export interface ReferenceModel {
  settings: ReferenceSettings;
  /** One winning copy per (app_id, event_id). */
  winners: ArchivedEvent[];
  /** Losing copies. */
  duplicates: number;
  attribution: AttributionResult;
  /** Derived dimensions, parallel to `winners`. */
  dimensions: EventDimensions[];
  /** Per winner: the first-install decision when it is one, else undefined. */
  firstInstallOf: (e: ArchivedEvent) => InstallDecision | undefined;
}

export function buildReferenceModel(events: readonly ArchivedEvent[], settings: ReferenceSettings = {}): ReferenceModel {
  // identify, group and alias are kept in the archive and counted nowhere (DESIGN.md section 3a).
  const { winners, duplicates } = dedupEvents(events.filter((e) => isCountedType(e.type)));
  const attribution = attributeInstalls(winners, settings);
  const dimensions = winners.map((e) => eventDimensions(e, attribution));
  const firstInstallOf = (e: ArchivedEvent) => {
    if (e.type !== 'install') return undefined;
    const d = attribution.firstInstalls.get(deviceKey(e.app_id, e.device_id));
    return d && d.install_event_id === e.event_id ? d : undefined;
  };
  return { settings, winners, duplicates, attribution, dimensions, firstInstallOf };
}

/** Either the events (and settings) or a model built from them. */
export type ReferenceSource = { events: readonly ArchivedEvent[]; settings?: ReferenceSettings } | { model: ReferenceModel };

function modelOf(src: ReferenceSource): ReferenceModel {
  return 'model' in src ? src.model : buildReferenceModel(src.events, src.settings);
}

// ---------------------------------------------------------------------------------------
// Buckets

export type Granularity = 'hourly' | 'daily';

/** `tz` in minutes east of UTC: a whole hour from -12:00 to +14:00. */
export function checkTz(tz: number): void {
  if (!Number.isInteger(tz) || tz % 60 !== 0 || tz < -720 || tz > 840) throw new RangeError(`tz must be a whole-hour offset from -720 to +840 minutes, got ${tz}`);
}

/** Start (ms) of the bucket holding `ts`: UTC hours, or calendar days in `tz`. */
export function bucketStart(ts: number, granularity: Granularity, tzMinutes = 0): number {
  if (granularity === 'hourly') return Math.floor(ts / HOUR_MS) * HOUR_MS;
  const off = tzMinutes * 60_000;
  return Math.floor((ts + off) / DAY_MS) * DAY_MS - off;
}

/** `+08:00`, `-05:00`, `+00:00`. */
export function formatTz(tzMinutes: number): string {
  const a = Math.abs(tzMinutes);
  return `${tzMinutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** `2026-11-23T14:00:00Z` hourly; `2026-11-23T00:00:00+08:00` daily (the day's midnight in `tz`). */
export function formatBucket(start: number, granularity: Granularity, tzMinutes = 0): string {
  if (granularity === 'hourly') return `${new Date(start).toISOString().slice(0, 13)}:00:00Z`;
  return `${new Date(start + tzMinutes * 60_000).toISOString().slice(0, 10)}T00:00:00${formatTz(tzMinutes)}`;
}

// ---------------------------------------------------------------------------------------
// Reports

export interface ReportQuery {
  appId: string;
  granularity: Granularity;
  /** Buckets starting in [from, to), ms. */
  from: number;
  to: number;
  /** Minutes east of UTC (daily buckets; default 0). */
  tz?: number;
  /** Default `['events', 'uv']`. */
  metrics?: readonly Metric[];
  groupBy?: readonly Dimension[];
  /** OR within a dimension, AND across dimensions; [''] matches ''. */
  filters?: Partial<Record<Dimension, readonly string[]>>;
}

/** `{ bucket, <group dims>, <metrics> }` (the route adds `source`). */
export type ReportRow = { bucket: string } & Record<string, string | number>;

interface Acc {
  start: number;
  group: string[];
  counts: Map<Metric, number>;
  devices: Set<string>;
  revenueMicros: number;
}

function validateQuery(q: ReportQuery): { metrics: readonly Metric[]; groupBy: readonly Dimension[]; tz: number } {
  const metrics = q.metrics ?? ['events', 'uv'];
  const groupBy = q.groupBy ?? [];
  const tz = q.tz ?? 0;
  checkTz(tz);
  if (q.granularity !== 'hourly' && q.granularity !== 'daily') throw new RangeError(`granularity must be hourly or daily, got ${String(q.granularity)}`);
  for (const m of metrics) if (!(METRICS as readonly string[]).includes(m)) throw new RangeError(`unknown metric ${m}`);
  for (const d of groupBy) if (!(DIMENSIONS as readonly string[]).includes(d)) throw new RangeError(`unknown dimension ${d}`);
  for (const [d, values] of Object.entries(q.filters ?? {})) {
    if (!(DIMENSIONS as readonly string[]).includes(d)) throw new RangeError(`unknown filter dimension ${d}`);
    if (!values || values.length === 0) throw new RangeError(`filter on ${d} needs at least one value`);
  }
  return { metrics, groupBy, tz };
}

/** Which counters an event adds 1 to (besides `events`). */
function countersOf(e: ArchivedEvent, m: ReferenceModel): Metric[] {
  switch (e.type) {
    case 'impression':
      return ['impressions'];
    case 'click':
      return ['clicks'];
    case 'launch':
      return ['launches'];
    case 'event':
      return ['custom_events'];
    case 'purchase':
      return ['purchases'];
    case 'error':
      return ['errors'];
    case 'install': {
      if (isReinstall(e, m.attribution)) return ['reinstalls'];
      const d = m.firstInstallOf(e);
      return d ? ['installs', `${d.outcome}_installs` as Metric] : [];
    }
    default:
      return []; // uncounted types, filtered out by buildReferenceModel
  }
}

export function referenceReport(input: ReferenceSource & ReportQuery): ReportRow[] {
  const m = modelOf(input);
  const { metrics, groupBy, tz } = validateQuery(input);
  const filters = Object.entries(input.filters ?? {}).map(([d, v]) => [d as Dimension, new Set(v)] as const);
  const rows = new Map<string, Acc>();
  m.winners.forEach((e, i) => {
    if (e.app_id !== input.appId) return;
    const start = bucketStart(e.ts, input.granularity, tz);
    if (start < input.from || start >= input.to) return;
    const dims = m.dimensions[i];
    for (const [d, allowed] of filters) if (!allowed.has(dims[d])) return;
    const group = groupBy.map((d) => dims[d]);
    const key = JSON.stringify([start, group]);
    let acc = rows.get(key);
    if (!acc) rows.set(key, (acc = { start, group, counts: new Map(), devices: new Set(), revenueMicros: 0 }));
    acc.counts.set('events', (acc.counts.get('events') ?? 0) + 1);
    for (const c of countersOf(e, m)) acc.counts.set(c, (acc.counts.get(c) ?? 0) + 1);
    acc.devices.add(e.device_id);
    if (e.type === 'purchase') acc.revenueMicros += e.revenue_micros;
  });
  return [...rows.values()]
    .sort((a, b) => a.start - b.start || compareByteTuples(a.group, b.group))
    .map((acc) => {
      const row: ReportRow = { bucket: formatBucket(acc.start, input.granularity, tz) };
      groupBy.forEach((d, i) => (row[d] = acc.group[i]));
      for (const metric of metrics) {
        if (metric === 'uv') row.uv = acc.devices.size;
        // Integer micro-units divided once: the nearest double, printed with at most 6 decimals.
        else if (metric === 'revenue') row.revenue = acc.revenueMicros / 1e6;
        else row[metric] = acc.counts.get(metric) ?? 0;
      }
      return row;
    });
}

// ---------------------------------------------------------------------------------------
// Attributions route

export interface AttributionsQuery {
  appId: string;
  /** First installs with install time in [from, to), ms. */
  from: number;
  to: number;
  channel?: string;
  outcome?: Outcome;
  limit?: number;
}

/** A row of `GET /v1/apps/{app}/attributions` without `source`; `ts` is ISO-8601 (ms, `Z`). */
export interface AttributionRow {
  install_event_id: string;
  device_id: string;
  ts: string;
  outcome: Outcome;
  match: InstallDecision['match'];
  click_event_id: string | null;
  channel: string;
  campaign_id: string;
  ctit_ms: number | null;
  fraud_reason: InstallDecision['fraud_reason'];
}

/** First installs by install time, then install event_id (byte order). */
export function referenceAttributions(input: ReferenceSource & AttributionsQuery): AttributionRow[] {
  const m = modelOf(input);
  const rows = [...m.attribution.firstInstalls.values()]
    .filter((d) => d.app_id === input.appId && d.ts >= input.from && d.ts < input.to)
    .filter((d) => (input.channel === undefined || d.channel === input.channel) && (input.outcome === undefined || d.outcome === input.outcome))
    .sort((a, b) => a.ts - b.ts || compareBytes(a.install_event_id, b.install_event_id))
    .map(toAttributionRow);
  return input.limit === undefined ? rows : rows.slice(0, input.limit);
}

export function toAttributionRow(d: InstallDecision): AttributionRow {
  return {
    install_event_id: d.install_event_id,
    device_id: d.device_id,
    ts: new Date(d.ts).toISOString(),
    outcome: d.outcome,
    match: d.match,
    click_event_id: d.click_event_id,
    channel: d.channel,
    campaign_id: d.campaign_id,
    ctit_ms: d.ctit_ms,
    fraud_reason: d.fraud_reason,
  };
}

// ---------------------------------------------------------------------------------------
// Top errors route

export interface ErrorsTopQuery {
  appId: string;
  /**
   * Error events with event time in [from, to), ms. The route's `window` (seconds, by event
   * time, up to now) is `from = now - window * 1000`, `to = now + 1`.
   */
  from: number;
  to: number;
  /** Default 10. */
  limit?: number;
}

export interface ErrorsTopRow {
  fingerprint: string;
  error_type: string;
  count: number;
  /** The message of the latest occurrence (greatest ts, then event_id). */
  sample_message: string;
  /** ISO-8601 time of the latest occurrence. */
  last_seen: string;
}

/** Most frequent fingerprints first; ties: latest last_seen first, then fingerprint (byte order). */
export function referenceErrorsTop(input: ReferenceSource & ErrorsTopQuery): ErrorsTopRow[] {
  const m = modelOf(input);
  const groups = new Map<string, { fingerprint: string; error_type: string; count: number; latest: ArchivedEvent }>();
  for (const e of m.winners) {
    if (e.app_id !== input.appId || e.type !== 'error' || e.ts < input.from || e.ts >= input.to) continue;
    // Recomputed rather than read from the stored column, so a wrong stored value shows.
    const fp = errorFingerprint(e.error_type, e.error_message);
    const g = groups.get(fp);
    if (!g) groups.set(fp, { fingerprint: fp, error_type: e.error_type, count: 1, latest: e });
    else {
      g.count++;
      if (e.ts > g.latest.ts || (e.ts === g.latest.ts && compareBytes(e.event_id, g.latest.event_id) > 0)) g.latest = e;
    }
  }
  return [...groups.values()]
    .sort((a, b) => b.count - a.count || b.latest.ts - a.latest.ts || compareBytes(a.fingerprint, b.fingerprint))
    .slice(0, input.limit ?? 10)
    .map((g) => ({
      fingerprint: g.fingerprint,
      error_type: g.error_type,
      count: g.count,
      sample_message: g.latest.error_message,
      last_seen: new Date(g.latest.ts).toISOString(),
    }));
}
