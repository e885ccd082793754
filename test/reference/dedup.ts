/**
 * Duplicates (DESIGN.md section 3): copies of one `(app_id, event_id)` are one event, and the
 * copy received first wins: smallest `received_at`, then lowest Kafka partition, then lowest
 * offset. Every other layer of the reference model only sees winners.
 */
import type { ArchivedEvent } from '../../schemas/event';

/** True when copy `a` wins over copy `b` of the same event. */
export function winsOver(a: ArchivedEvent, b: ArchivedEvent): boolean {
  if (a.received_at !== b.received_at) return a.received_at < b.received_at;
  if (a.kafka_partition !== b.kafka_partition) return a.kafka_partition < b.kafka_partition;
  return a.kafka_offset < b.kafka_offset;
}

export const dedupKey = (e: Pick<ArchivedEvent, 'app_id' | 'event_id'>): string => `${e.app_id}\u0000${e.event_id}`;

export interface DedupResult {
  /** One winning copy per `(app_id, event_id)`, in the order each key first appeared. */
  winners: ArchivedEvent[];
  /** Copies that lost (what the speed layer may count twice). */
  duplicates: number;
}

export function dedupEvents(events: readonly ArchivedEvent[]): DedupResult {
  const best = new Map<string, ArchivedEvent>();
  for (const e of events) {
    const k = dedupKey(e);
    const cur = best.get(k);
    if (cur === undefined || winsOver(e, cur)) best.set(k, e);
  }
  return { winners: [...best.values()], duplicates: events.length - best.size };
}
