/**
 * A weir wire event as the Segment message an SDK would send for it (DESIGN.md section 3a
 * read backwards), so the bench can post the same events through `/v1/batch` as through
 * `/v1/events`. Mapped back by the collector, each message gives the event's type, ids,
 * times and fields again; `properties` then holds the whole message, as section 3a keeps it.
 */
import { parseTime, type WireEvent } from '../../schemas/event';

type Obj = Record<string, unknown>;

/** ISO-8601, as the SDKs send times; a value that is no time stays as it is, to be refused the same way. */
const iso = (t: unknown): unknown => {
  const ms = parseTime(t);
  return ms === undefined || Number.isNaN(new Date(ms).getTime()) ? t : new Date(ms).toISOString();
};

function track(e: WireEvent): Obj {
  const p: Obj = { ...(e.properties ?? {}) };
  switch (e.type) {
    case 'impression':
    case 'click':
      return { event: e.type === 'click' ? 'Ad Clicked' : 'Ad Impression', properties: { ...p, campaign_id: e.campaign_id, channel: e.channel } };
    case 'install':
      return { event: 'Application Installed', properties: p };
    case 'launch':
      return { event: 'Application Opened', properties: p };
    case 'purchase':
      return { event: 'Order Completed', properties: { ...p, revenue: e.revenue, currency: e.currency } };
    case 'error':
      return { event: 'Application Crashed', properties: { ...p, error_type: e.error_type, error_message: e.error_message } };
    case 'event':
      return { event: e.name, properties: p };
  }
}

export function segmentMessageOf(e: WireEvent): Obj {
  const context: Obj = { device: { advertisingId: e.device_id } };
  if (e.ip) context.ip = e.ip;
  if (e.ua) context.userAgent = e.ua;
  if (e.os) context.os = e.os_version ? { name: e.os, version: e.os_version } : { name: e.os };
  if (e.app_version) context.app = { version: e.app_version };
  if (e.country) context.location = { country: e.country };
  const message: Obj = { type: 'track', messageId: e.event_id, ...track(e), context, timestamp: iso(e.ts) };
  if (e.sent_at !== undefined && e.sent_at !== null) message.sentAt = iso(e.sent_at);
  return message;
}
