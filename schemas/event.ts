/**
 * The event, defined once (DESIGN.md section 3).
 *
 * - `WireEvent` / `validateWireEvent`: what clients send, with a per-field reason on failure.
 * - `StoredEvent`: what the collector writes to Kafka after enrichment (corrected `ts`,
 *   `received_at`, `client_ts`, `fingerprint`), absent optional strings as ''.
 * - `ARCHIVE_COLUMNS`: the stored event plus its Kafka position, from which both the Arrow
 *   schema of the master dataset and the ClickHouse column list are derived.
 */
import { z } from 'zod';

export const EVENT_TYPES = ['impression', 'click', 'install', 'launch', 'event', 'purchase', 'error'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Types stored but never counted (DESIGN.md section 3a): Segment's identify, group and alias
 * messages are acknowledged and kept in the master dataset, and no view, metric or report row
 * counts them. Only the Segment routes write them; `POST /v1/events` accepts EVENT_TYPES
 * alone. The speed layer skips them and the batch layer does not load them.
 */
export const UNCOUNTED_TYPES = ['identify', 'group', 'alias'] as const;
export type UncountedType = (typeof UNCOUNTED_TYPES)[number];
export type StoredType = EventType | UncountedType;

const UNCOUNTED_TYPE_SET: ReadonlySet<string> = new Set(UNCOUNTED_TYPES);
/** Whether an event of this stored type counts in views and metrics. */
export const isCountedType = (type: string): boolean => !UNCOUNTED_TYPE_SET.has(type);

/** 2000-01-01T00:00:00Z: events before it are rejected. */
export const MIN_EVENT_TS = 946_684_800_000;
/** Corrected event time may lie at most this far after the server receive time. */
export const MAX_FUTURE_MS = 3_600_000;
export const MAX_PROPERTIES_BYTES = 8 * 1024;
/**
 * Revenue is stored in micro-units as Int64 (max ~9.22e12 units): a larger value would wrap
 * around in the archive's Int64 column. 1e12 leaves room and is no real purchase.
 */
export const MAX_REVENUE = 1e12;

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Epoch ms from an integer or an ISO-8601 string; an ISO string without offset is UTC.
 * Returns undefined when the value is not a valid time.
 */
export function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = ISO_RE.exec(v.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz] = m;
  const ms = Number((frac + '000').slice(0, 3));
  const [Y, M, D, H, MI, S] = [y, mo, d, h, mi, s].map(Number);
  if (M < 1 || M > 12 || D < 1 || D > 31 || H > 23 || MI > 59 || S > 59) return undefined;
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(Y, M - 1, D);
  if (date.getUTCDate() !== D) return undefined; // 2026-02-30
  date.setUTCHours(H, MI, S, ms);
  let t = date.getTime();
  if (tz && tz.toUpperCase() !== 'Z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const offH = Number(digits.slice(0, 2));
    const offM = Number(digits.slice(2, 4) || 0);
    if (offH > 14 || offM > 59) return undefined;
    t -= sign * (offH * 60 + offM) * 60_000;
  }
  return t;
}

const TIME_RULE = 'must be epoch milliseconds (a non-negative integer) or an ISO-8601 time';
const timeValue = z.union([z.number(), z.string()], { message: TIME_RULE }).refine((v) => parseTime(v) !== undefined, {
  message: TIME_RULE,
});
const str = (min: number, max?: number) => {
  const s = z.string().min(min, { message: min === 1 ? 'must not be empty' : `must have at least ${min} characters` });
  return max === undefined ? s : s.max(max, { message: `must have at most ${max} characters` });
};
/**
 * `properties` as JSON, serialised once per object: validation measures it, enrichment stores
 * it, and the Segment mapping sizes the message it keeps there (the same object). Keyed by
 * identity, so the object must not change in between: nothing on the way does. Throws as
 * JSON.stringify does (deep nesting).
 */
const propertiesJsonCache = new WeakMap<object, string>();
export function propertiesJson(p: object): string {
  let json = propertiesJsonCache.get(p);
  if (json === undefined) {
    json = JSON.stringify(p);
    propertiesJsonCache.set(p, json);
  }
  return json;
}

/** Optional fields accept null as "absent": SDKs commonly serialise missing values as null. */
const opt = <T extends z.ZodTypeAny>(t: T) => t.nullish();

export const WireEventSchema = z
  .strictObject({
    event_id: str(1, 64),
    app_id: str(1, 64),
    type: z.enum(EVENT_TYPES, { message: `must be one of ${EVENT_TYPES.join(', ')}` }),
    ts: timeValue,
    sent_at: opt(timeValue),
    device_id: str(1, 128),
    ip: opt(z.string().max(64)),
    ua: opt(z.string().max(2048)),
    os: opt(z.string().max(64)),
    os_version: opt(z.string().max(64)),
    app_version: opt(z.string().max(64)),
    country: opt(z.string().regex(/^[A-Za-z]{2}$/, { message: 'must be an ISO-3166 alpha-2 code' })),
    campaign_id: opt(str(1, 128)),
    channel: opt(str(1, 128)),
    name: opt(str(1, 128)),
    revenue: opt(
      z
        .number()
        .nonnegative({ message: 'must be a number >= 0' })
        .max(MAX_REVENUE, { message: `must be a number from 0 to ${MAX_REVENUE} (stored in micro-units as a 64-bit integer)` }),
    ),
    currency: opt(z.string().regex(/^[A-Za-z]{3}$/, { message: 'must be an ISO-4217 code' })),
    error_type: opt(str(1, 256)),
    error_message: opt(z.string().max(8192)),
    properties: opt(z.record(z.string(), z.unknown())),
  })
  .superRefine((e, ctx) => {
    const need = (field: keyof typeof e, why: string) => {
      if (e[field] === undefined || e[field] === null) ctx.addIssue({ code: 'custom', path: [field], message: `is required for ${why}` });
    };
    if (e.type === 'impression' || e.type === 'click') {
      need('campaign_id', `${e.type} events`);
      need('channel', `${e.type} events`);
    }
    if (e.type === 'event') need('name', 'custom events (type "event")');
    if (e.type === 'purchase') {
      need('revenue', 'purchases');
      need('currency', 'purchases');
    }
    if (e.type === 'error') {
      need('error_type', 'errors');
      need('error_message', 'errors');
    }
    if (e.properties) {
      let size: number;
      try {
        size = Buffer.byteLength(JSON.stringify(e.properties));
      } catch {
        // JSON.stringify recurses: a few KB of nested brackets overflow the stack (RangeError).
        ctx.addIssue({ code: 'custom', path: ['properties'], message: `could not be serialised (nested too deeply); at most ${MAX_PROPERTIES_BYTES} bytes allowed` });
        return;
      }
      if (size > MAX_PROPERTIES_BYTES)
        ctx.addIssue({ code: 'custom', path: ['properties'], message: `is ${size} bytes serialised; at most ${MAX_PROPERTIES_BYTES} allowed` });
    }
  });

export type WireEvent = z.infer<typeof WireEventSchema>;

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Validates one wire event; the reason names every failing field. */
export function validateWireEvent(raw: unknown): Validation<WireEvent> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: `event must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw}` };
  }
  if (isPlainValidEvent(raw as Record<string, unknown>)) return { ok: true, value: raw as WireEvent };
  // reportInput: tells a wrong type ("must be string") from a missing field ("is required").
  const r = WireEventSchema.safeParse(raw, { reportInput: true });
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, reason: describeIssues(r.error.issues) };
}

// ---------------------------------------------------------------------------------------
// Fast path. The schema above costs ~10 µs per event, a fifth of the collector's CPU at full
// load (bench/ingest.ts). Almost every event is valid, so this check runs first and says
// "valid" only for events that WireEventSchema accepts unchanged: a plain object (what
// JSON.parse makes) with only known fields, each within the schema's rules, and the
// type-dependent requirements met. For such an event zod's output equals the input (no
// field transforms; zod only drops a `__proto__` key of `properties`, which sends the event
// to zod here). Anything else, valid or not, goes to zod, which alone writes reasons. The
// two must agree: keep this in step with WireEventSchema (bench/support/check-fast-paths.ts
// compares them on generated and mutated events).

const EVENT_TYPE_SET: ReadonlySet<unknown> = new Set(EVENT_TYPES);
const COUNTRY_RE = /^[A-Za-z]{2}$/;
const CURRENCY_RE = /^[A-Za-z]{3}$/;
const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

const isStr = (v: unknown, min: number, max: number): boolean => typeof v === 'string' && v.length >= min && v.length <= max;
const isTime = (v: unknown): boolean =>
  typeof v === 'number' ? Number.isSafeInteger(v) && v >= 0 : typeof v === 'string' && parseTime(v) !== undefined;
const isPresent = (v: unknown): boolean => v !== undefined && v !== null;

function isPlainValidEvent(e: Record<string, unknown>): boolean {
  if (Object.getPrototypeOf(e) !== Object.prototype) return false;
  for (const k in e) {
    const v = e[k];
    switch (k) {
      case 'event_id':
      case 'app_id':
        if (!isStr(v, 1, 64)) return false;
        break;
      case 'device_id':
        if (!isStr(v, 1, 128)) return false;
        break;
      case 'type':
        if (!EVENT_TYPE_SET.has(v)) return false;
        break;
      case 'ts':
        if (!isTime(v)) return false;
        break;
      case 'sent_at':
        if (v !== null && !isTime(v)) return false;
        break;
      case 'ip':
      case 'os':
      case 'os_version':
      case 'app_version':
        if (v !== null && !isStr(v, 0, 64)) return false;
        break;
      case 'ua':
        if (v !== null && !isStr(v, 0, 2048)) return false;
        break;
      case 'country':
        if (v !== null && !(typeof v === 'string' && COUNTRY_RE.test(v))) return false;
        break;
      case 'currency':
        if (v !== null && !(typeof v === 'string' && CURRENCY_RE.test(v))) return false;
        break;
      case 'campaign_id':
      case 'channel':
      case 'name':
        if (v !== null && !isStr(v, 1, 128)) return false;
        break;
      case 'error_type':
        if (v !== null && !isStr(v, 1, 256)) return false;
        break;
      case 'error_message':
        if (v !== null && !isStr(v, 0, 8192)) return false;
        break;
      case 'revenue':
        if (v !== null && !(typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_REVENUE)) return false;
        break;
      case 'properties':
        if (v !== null && !isPlainProperties(v)) return false;
        break;
      default:
        return false; // unknown field (or undefined value): zod words the reason
    }
  }
  if (e.event_id === undefined || e.app_id === undefined || e.type === undefined || e.ts === undefined || e.device_id === undefined) return false;
  switch (e.type) {
    case 'impression':
    case 'click':
      return isPresent(e.campaign_id) && isPresent(e.channel);
    case 'event':
      return isPresent(e.name);
    case 'purchase':
      return isPresent(e.revenue) && isPresent(e.currency);
    case 'error':
      return isPresent(e.error_type) && isPresent(e.error_message);
    default:
      return true;
  }
}

/** A JSON object of at most MAX_PROPERTIES_BYTES serialised, with no key that zod would treat specially. */
function isPlainProperties(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  if (hasOwn(v, '__proto__') || hasOwn(v, 'constructor')) return false;
  let size: number;
  try {
    size = Buffer.byteLength(propertiesJson(v));
  } catch {
    return false;
  }
  return size <= MAX_PROPERTIES_BYTES;
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => {
      if (i.code === 'unrecognized_keys') return `unknown field(s) ${i.keys.join(', ')} (custom data belongs in properties)`;
      const field = i.path.join('.') || 'event';
      if ((i.code === 'invalid_type' || i.code === 'invalid_union') && i.input === undefined) return `${field}: is required`;
      if (i.code === 'invalid_type') return `${field}: must be ${i.expected === 'record' ? 'an object' : i.expected}`;
      return `${field}: ${i.message}`;
    })
    .join('; ');
}

// ---------------------------------------------------------------------------------------
// Stored event and archive columns: one list, from which the TypeScript type, the Arrow
// schema (ingest/archiver) and the ClickHouse columns (batch layer) are derived.

export type ColumnKind = 'string' | 'dict' | 'int64' | 'int32';
export interface ColumnDef {
  readonly name: string;
  readonly kind: ColumnKind;
}

export const STORED_COLUMNS = [
  { name: 'event_id', kind: 'string' },
  { name: 'app_id', kind: 'dict' },
  { name: 'type', kind: 'dict' },
  { name: 'ts', kind: 'int64' }, // corrected event time, ms
  { name: 'client_ts', kind: 'int64' }, // ts as sent, ms
  { name: 'sent_at', kind: 'int64' }, // ms, 0 when absent
  { name: 'received_at', kind: 'int64' }, // server receive time, ms
  { name: 'device_id', kind: 'string' },
  { name: 'ip', kind: 'string' },
  { name: 'ua', kind: 'dict' },
  { name: 'os', kind: 'dict' },
  { name: 'os_version', kind: 'dict' },
  { name: 'app_version', kind: 'dict' },
  { name: 'country', kind: 'dict' },
  { name: 'campaign_id', kind: 'dict' },
  { name: 'channel', kind: 'dict' },
  { name: 'name', kind: 'dict' },
  { name: 'revenue_micros', kind: 'int64' }, // revenue * 1e6, purchases only
  { name: 'currency', kind: 'dict' },
  { name: 'error_type', kind: 'dict' },
  { name: 'error_message', kind: 'string' },
  { name: 'fingerprint', kind: 'string' }, // errors only, see errorFingerprint
  { name: 'properties', kind: 'string' }, // JSON text, '' when absent
] as const satisfies readonly ColumnDef[];

/** Where the event sits in Kafka: the archive keeps it for the duplicate tie rule. */
export const KAFKA_POSITION_COLUMNS = [
  { name: 'kafka_partition', kind: 'int32' },
  { name: 'kafka_offset', kind: 'int64' },
] as const satisfies readonly ColumnDef[];

export const ARCHIVE_COLUMNS = [...STORED_COLUMNS, ...KAFKA_POSITION_COLUMNS] as const;

type TsOf<K extends ColumnKind> = K extends 'int64' | 'int32' ? number : string;
type RowOf<C extends readonly ColumnDef[]> = { [D in C[number] as D['name']]: TsOf<D['kind']> };

export type StoredEvent = RowOf<typeof STORED_COLUMNS> & { type: StoredType };
export type ArchivedEvent = StoredEvent & RowOf<typeof KAFKA_POSITION_COLUMNS>;

const CH_TYPE: Record<ColumnKind, string> = {
  string: 'String',
  dict: 'LowCardinality(String)',
  int64: 'Int64',
  int32: 'Int32',
};

/** `name Type, …` of the archive, for ClickHouse table functions and tables. */
export function clickhouseColumns(cols: readonly ColumnDef[] = ARCHIVE_COLUMNS): string {
  return cols.map((c) => `${c.name} ${CH_TYPE[c.kind]}`).join(', ');
}
