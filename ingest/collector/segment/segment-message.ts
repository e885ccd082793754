/**
 * A Segment message → a weir wire event (DESIGN.md section 3a). Pure: the caller passes the
 * app of the write key and the receive time, then validates the result as any wire event
 * (`validateWireEvent`), so a mapped message meets exactly the rules of `POST /v1/events`.
 *
 * Readings where section 3a is silent (docs/semantics.md, "Segment-compatible ingest"):
 * - A message with none of `timestamp`, `originalTimestamp` is stamped with the receive time
 *   and its `sentAt` is not applied: the server's clock needs no correction.
 * - `identify`, `group`, `alias` are validated as custom events named after their type, then
 *   stored under their own type (`storeAs`), which no view counts.
 * - The original message goes to `properties` without its `writeKey` (no secret in the
 *   master dataset). Past the 8 KiB limit its `context` is dropped (its fields weir uses are
 *   columns already), and past it still only its type, ids and name are kept.
 */
import { MAX_PROPERTIES_BYTES, parseTime, propertiesJson, type UncountedType } from '../../../schemas/event';

export const SEGMENT_TYPES = ['track', 'screen', 'page', 'identify', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** Segment's own limit on one message (its HTTP Tracking API refuses larger ones). */
export const SEGMENT_MAX_MESSAGE_BYTES = 32 * 1024;

export interface SegmentMapContext {
  appId: string;
  receivedAt: number;
  /** The type the route implies (`/v1/track` …); unset for `/v1/batch`, where each message says. */
  routeType?: SegmentType;
  /** A batch's top-level `context`, under each message's own (Segment merges them the same way). */
  batchContext?: Record<string, unknown>;
}

export type SegmentMapping =
  | { ok: true; value: Record<string, unknown>; storeAs?: UncountedType }
  | { ok: false; reason: string };

type Obj = Record<string, unknown>;

const SEGMENT_TYPE_SET: ReadonlySet<unknown> = new Set(SEGMENT_TYPES);
const UNCOUNTED: ReadonlySet<SegmentType> = new Set<SegmentType>(['identify', 'group', 'alias']);
const ALPHA2 = /^[A-Za-z]{2}$/;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const objAt = (o: Obj, k: string): Obj => (isObj(o[k]) ? (o[k] as Obj) : {});
const strAt = (o: Obj, k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
const present = (v: unknown): boolean => v !== undefined && v !== null;

export function mapSegmentMessage(raw: unknown, ctx: SegmentMapContext): SegmentMapping {
  if (!isObj(raw)) return { ok: false, reason: `message must be a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw}` };
  const type = ctx.routeType ?? raw.type;
  if (!SEGMENT_TYPE_SET.has(type)) return { ok: false, reason: `type: must be one of ${SEGMENT_TYPES.join(', ')}` };
  const messageId = raw.messageId;
  if (typeof messageId !== 'string' || messageId === '') return { ok: false, reason: 'messageId: is required (a non-empty string: the deduplication key)' };

  const time = eventTime(raw, ctx.receivedAt);
  if (typeof time === 'string') return { ok: false, reason: time };

  const context = ctx.batchContext ? { ...ctx.batchContext, ...objAt(raw, 'context') } : objAt(raw, 'context');
  const device = objAt(context, 'device');
  const deviceId = strAt(device, 'advertisingId') ?? strAt(device, 'id') ?? strAt(raw, 'anonymousId') ?? strAt(raw, 'userId');
  if (deviceId === undefined) {
    return { ok: false, reason: 'device id: one of context.device.advertisingId, context.device.id, anonymousId, userId is required' };
  }

  const kind = eventKind(type as SegmentType, raw);
  if (typeof kind === 'string') return { ok: false, reason: kind };

  const properties = keptMessage(raw);
  if (typeof properties === 'string') return { ok: false, reason: properties };

  const os = objAt(context, 'os');
  const event: Obj = {
    event_id: messageId,
    app_id: ctx.appId,
    ...time,
    device_id: deviceId,
    ...kind.fields,
    properties,
  };
  // Only the fields the message has: a key with an undefined value would miss the validator's fast path.
  setIf(event, 'ip', strAt(context, 'ip'));
  setIf(event, 'ua', strAt(context, 'userAgent'));
  setIf(event, 'os', strAt(os, 'name'));
  setIf(event, 'os_version', strAt(os, 'version'));
  setIf(event, 'app_version', strAt(objAt(context, 'app'), 'version'));
  setIf(event, 'country', country(context));
  return kind.storeAs ? { ok: true, value: event, storeAs: kind.storeAs } : { ok: true, value: event };
}

function setIf(o: Obj, k: string, v: string | undefined): void {
  if (v !== undefined) o[k] = v;
}

/**
 * `ts` and `sent_at` in epoch ms, or the reason a time field is unusable. Parsed once here and
 * passed on as numbers, which validation and enrichment take without parsing the ISO text again.
 */
function eventTime(m: Obj, receivedAt: number): { ts: number; sent_at?: number } | string {
  const tsField = present(m.timestamp) ? 'timestamp' : present(m.originalTimestamp) ? 'originalTimestamp' : undefined;
  // Stamped on arrival: sent_at = ts makes the skew correction zero, whatever the batch's sentAt.
  if (tsField === undefined) return { ts: receivedAt, sent_at: receivedAt };
  const ts = parseTime(m[tsField]);
  if (ts === undefined) return `${tsField}: must be an ISO-8601 time (or epoch milliseconds)`;
  if (!present(m.sentAt)) return { ts };
  const sentAt = parseTime(m.sentAt);
  return sentAt === undefined ? 'sentAt: must be an ISO-8601 time (or epoch milliseconds)' : { ts, sent_at: sentAt };
}

/** The weir type and its type-specific fields (section 3a's table), or a reason. */
function eventKind(type: SegmentType, m: Obj): { fields: Obj; storeAs?: UncountedType } | string {
  if (UNCOUNTED.has(type)) return { fields: { type: 'event', name: type }, storeAs: type as UncountedType };
  if (type === 'screen' || type === 'page') {
    const name = strAt(m, 'name') ?? strAt(objAt(m, 'properties'), 'name') ?? '';
    return { fields: { type: 'event', name: `${type}:${name}` } };
  }
  const name = m.event;
  if (typeof name !== 'string' || name === '') return 'event: is required for track (the event name, a non-empty string)';
  const p = objAt(m, 'properties');
  switch (name) {
    case 'Application Installed':
      return { fields: { type: 'install' } };
    case 'Application Opened':
      return { fields: { type: 'launch' } };
    case 'Application Crashed':
      return {
        fields: {
          type: 'error',
          error_type: present(p.error_type) ? p.error_type : 'crash',
          error_message: present(p.error_message) ? p.error_message : present(p.message) ? p.message : '',
        },
      };
    case 'Ad Clicked':
    case 'Ad Impression':
      if (present(p.campaign_id) && present(p.channel)) {
        return { fields: { type: name === 'Ad Clicked' ? 'click' : 'impression', campaign_id: p.campaign_id, channel: p.channel } };
      }
      break;
  }
  if (name === 'Order Completed' || present(p.revenue)) {
    const revenue = present(p.revenue) ? p.revenue : p.total;
    if (!present(revenue)) return 'properties.revenue: is required for Order Completed (or properties.total)';
    return { fields: { type: 'purchase', revenue, currency: present(p.currency) ? p.currency : 'USD' } };
  }
  return { fields: { type: 'event', name } };
}

/** ISO-3166 alpha-2 from context.location.country, else from the region of context.locale (`en-US`, `pt_BR`). */
function country(context: Obj): string | undefined {
  const fromLocation = strAt(objAt(context, 'location'), 'country');
  if (fromLocation !== undefined && ALPHA2.test(fromLocation)) return fromLocation;
  const locale = strAt(context, 'locale');
  return locale?.split(/[-_.@]/).slice(1).find((part) => ALPHA2.test(part));
}

/** The original message for `properties`, within the 8 KiB limit; a reason when it is over Segment's 32 KB. */
function keptMessage(m: Obj): Obj | string {
  // Copied only when there is a key to drop: most messages go as they are (one object less each).
  let message = m;
  if ('writeKey' in m) {
    const { writeKey: _secret, ...rest } = m;
    message = rest;
  }
  let json: string;
  try {
    json = propertiesJson(message);
  } catch {
    return 'message could not be serialised (nested too deeply)';
  }
  const size = Buffer.byteLength(json);
  if (size > SEGMENT_MAX_MESSAGE_BYTES) return `message is ${size} bytes; at most ${SEGMENT_MAX_MESSAGE_BYTES} allowed (Segment's limit)`;
  if (size <= MAX_PROPERTIES_BYTES) return message;
  const { context: _context, ...withoutContext } = message;
  if (Buffer.byteLength(JSON.stringify(withoutContext)) <= MAX_PROPERTIES_BYTES) return { ...withoutContext, weir_dropped: 'context' };
  const ids: Obj = { weir_dropped: 'all but ids' };
  for (const k of ['type', 'messageId', 'event', 'name', 'userId', 'anonymousId', 'previousId', 'groupId']) {
    if (typeof m[k] === 'string' && (m[k] as string).length <= 256) ids[k] = m[k];
  }
  return ids;
}
