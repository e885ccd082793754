/**
 * What the collector and archiver would store for a stream of wire events, without running
 * them: validation, the time checks, enrichment (corrected ts, '' for absent strings,
 * revenue in micro-units, fingerprint) and a Kafka position. Lets tests feed generated
 * traffic straight into the reference model. Against a live system, feed the reference from
 * the real archive instead: only it has the real `received_at` and Kafka positions.
 */
import { MAX_FUTURE_MS, MIN_EVENT_TS, parseTime, validateWireEvent, type ArchivedEvent, type WireEvent } from '../../schemas/event';
import { errorFingerprint } from '../../schemas/fingerprint';
import { eventKey } from '../../schemas/topics';

export interface SimulateOptions {
  /** Kafka partitions of `events` (default 6). */
  partitions?: number;
  /** `ip` the collector fills in when an event has none (default '127.0.0.1'). */
  clientIp?: string;
}

export interface WireItem {
  event: WireEvent;
  /** Server receive time (ms); without it, the event's own `ts`. */
  sendAtMs?: number;
}

export interface SimulatedArchive {
  archived: ArchivedEvent[];
  rejected: { index: number; event_id: unknown; reason: string }[];
}

/**
 * A stable partition per key. Not Kafka's murmur2: only the tie rule of duplicates reads the
 * partition, and it only needs one fixed partition per key.
 */
function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

export function simulateArchive(items: Iterable<WireItem>, opts: SimulateOptions = {}): SimulatedArchive {
  const partitions = opts.partitions ?? 6;
  const offsets = new Array<number>(partitions).fill(0);
  const archived: ArchivedEvent[] = [];
  const rejected: SimulatedArchive['rejected'] = [];
  let index = 0;
  for (const item of items) {
    const i = index++;
    const v = validateWireEvent(item.event);
    if (!v.ok) {
      rejected.push({ index: i, event_id: (item.event as { event_id?: unknown }).event_id, reason: v.reason });
      continue;
    }
    const e = v.value;
    const clientTs = parseTime(e.ts) as number;
    const sentAt = e.sent_at === undefined || e.sent_at === null ? undefined : (parseTime(e.sent_at) as number);
    const receivedAt = item.sendAtMs ?? clientTs;
    const ts = sentAt === undefined ? clientTs : clientTs + (receivedAt - sentAt);
    if (ts > receivedAt + MAX_FUTURE_MS || ts < MIN_EVENT_TS) {
      rejected.push({ index: i, event_id: e.event_id, reason: 'ts: outside the accepted time range' });
      continue;
    }
    const p = partitionOf(eventKey(e.app_id, e.device_id), partitions);
    archived.push({
      event_id: e.event_id,
      app_id: e.app_id,
      type: e.type,
      ts,
      client_ts: clientTs,
      sent_at: sentAt ?? 0,
      received_at: receivedAt,
      device_id: e.device_id,
      ip: e.ip ?? opts.clientIp ?? '127.0.0.1',
      ua: e.ua ?? '',
      os: e.os ?? '',
      os_version: e.os_version ?? '',
      app_version: e.app_version ?? '',
      country: e.country ?? '',
      campaign_id: e.campaign_id ?? '',
      channel: e.channel ?? '',
      name: e.name ?? '',
      revenue_micros: e.revenue === undefined || e.revenue === null ? 0 : Math.round(e.revenue * 1e6),
      currency: e.currency ?? '',
      error_type: e.error_type ?? '',
      error_message: e.error_message ?? '',
      fingerprint: e.type === 'error' ? errorFingerprint(e.error_type ?? '', e.error_message ?? '') : '',
      properties: e.properties ? JSON.stringify(e.properties) : '',
      kafka_partition: p,
      kafka_offset: offsets[p]++,
    });
  }
  return { archived, rejected };
}
