/**
 * Duplicates (DESIGN.md section 3), in plain code:
 *   - one Kafka record is one copy, however many times it was archived: rows sharing a
 *     (kafka_partition, kafka_offset) are one;
 *   - copies of one `(app_id, event_id)` received within the dedup horizon of the first copy
 *     are one event, and the copy received first wins: smallest `received_at`, then lowest
 *     Kafka partition, then lowest offset. A copy received later than the horizon after the
 *     first is a new event, and later copies are measured against it.
 * Every other layer of the reference model only sees winners.
 */
import type { ArchivedEvent } from '../../schemas/event';

export const DEFAULT_HORIZON_MS = 7 * 86_400_000;

/** True when copy `a` comes before copy `b` of the same event (DESIGN.md's tie rule). */
export function winsOver(a: ArchivedEvent, b: ArchivedEvent): boolean {
  if (a.received_at !== b.received_at) return a.received_at < b.received_at;
  if (a.kafka_partition !== b.kafka_partition) return a.kafka_partition < b.kafka_partition;
  return a.kafka_offset < b.kafka_offset;
}

export const dedupKey = (e: Pick<ArchivedEvent, 'app_id' | 'event_id'>): string => `${e.app_id}\u0000${e.event_id}`;

export interface DedupResult {
  /** One winning copy per event, in the order each key first appeared. */
  winners: ArchivedEvent[];
  /** Copies that lost (what the speed layer may count twice); a record archived twice is no copy. */
  duplicates: number;
}

export function dedupEvents(events: readonly ArchivedEvent[], horizonMs = DEFAULT_HORIZON_MS): DedupResult {
  const records = new Map<string, ArchivedEvent>();
  for (const e of events) {
    // A record's position identifies it; its key and receive time are part of the identity only
    // so that hand-made fixtures, which leave positions at 0, still hold distinct records.
    const id = `${e.kafka_partition}:${e.kafka_offset}:${e.received_at}:${dedupKey(e)}`;
    if (!records.has(id)) records.set(id, e);
  }
  const copies = new Map<string, ArchivedEvent[]>();
  for (const e of records.values()) {
    const k = dedupKey(e);
    const list = copies.get(k);
    if (list) list.push(e);
    else copies.set(k, [e]);
  }
  const winners: ArchivedEvent[] = [];
  for (const list of copies.values()) {
    list.sort((a, b) => (winsOver(a, b) ? -1 : winsOver(b, a) ? 1 : 0));
    let start: ArchivedEvent | undefined;
    for (const e of list) {
      if (start === undefined || e.received_at - start.received_at > horizonMs) {
        start = e;
        winners.push(e);
      }
    }
  }
  return { winners, duplicates: records.size - winners.length };
}
