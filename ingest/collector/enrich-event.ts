/**
 * Wire event → stored event (DESIGN.md section 3): server receive time, client IP when
 * absent, clock-skew correction from `sent_at`, the time window check and the error
 * fingerprint. Pure: the caller passes the receive time and the request's IP.
 */
import { MAX_FUTURE_MS, MIN_EVENT_TS, parseTime, propertiesJson, type StoredEvent, type WireEvent } from '../../schemas/event';
import { errorFingerprint } from '../../schemas/fingerprint';

export interface EnrichContext {
  receivedAt: number;
  requestIp: string;
  /** The batch-level `sent_at` in ms, when the body carried one. */
  batchSentAt?: number;
}

export type Enriched = { ok: true; event: StoredEvent } | { ok: false; reason: string };

/** ISO-8601 when the time is within Date's range (±8.64e15 ms), else the ms: toISOString would throw. */
const isoOrMs = (t: number): string => (Number.isNaN(new Date(t).getTime()) ? `${t} ms` : new Date(t).toISOString());

export function enrichEvent(e: WireEvent, ctx: EnrichContext): Enriched {
  const clientTs = parseTime(e.ts) as number; // validated by the schema
  const sentAt = e.sent_at !== undefined && e.sent_at !== null ? (parseTime(e.sent_at) as number) : ctx.batchSentAt;
  const ts = sentAt === undefined ? clientTs : clientTs + (ctx.receivedAt - sentAt);
  if (ts > ctx.receivedAt + MAX_FUTURE_MS) {
    return { ok: false, reason: `ts: corrected event time ${isoOrMs(ts)} is more than 1 hour after the server receive time` };
  }
  if (ts < MIN_EVENT_TS) {
    return { ok: false, reason: `ts: corrected event time ${isoOrMs(ts)} is before 2000-01-01` };
  }
  const isError = e.type === 'error';
  const isPurchase = e.type === 'purchase';
  return {
    ok: true,
    event: {
      event_id: e.event_id,
      app_id: e.app_id,
      type: e.type,
      ts,
      client_ts: clientTs,
      sent_at: sentAt ?? 0,
      received_at: ctx.receivedAt,
      device_id: e.device_id,
      ip: e.ip ?? ctx.requestIp,
      ua: e.ua ?? '',
      os: e.os ?? '',
      os_version: e.os_version ?? '',
      app_version: e.app_version ?? '',
      country: (e.country ?? '').toUpperCase(),
      campaign_id: e.campaign_id ?? '',
      channel: e.channel ?? '',
      name: e.name ?? '',
      // Micro-units, rounded: a float like 0.1 + 0.2 must not become 300000.00000000006.
      revenue_micros: isPurchase ? Math.round((e.revenue ?? 0) * 1e6) : 0,
      currency: isPurchase ? (e.currency ?? '').toUpperCase() : '',
      error_type: e.error_type ?? '',
      error_message: e.error_message ?? '',
      fingerprint: isError ? errorFingerprint(e.error_type ?? '', e.error_message ?? '') : '',
      properties: e.properties ? propertiesJson(e.properties) : '',
    },
  };
}
