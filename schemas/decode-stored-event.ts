/** Decodes a message of the `events` topic (JSON written by the collector). */
import { STORED_COLUMNS, type ColumnKind, type StoredEvent } from './event';

/** Events the decoder completed or corrected: their message does not say what they hold. */
const filled = new WeakSet<StoredEvent>();

/** Whether decoding had to fill or replace a column of this event (a producer other than the collector). */
export function filledByDecode(e: StoredEvent): boolean {
  return filled.has(e);
}

/** The collector wrote JSON `StoredEvent`s; anything else is dead-lettered, not archived. */
export function decodeStoredEvent(value: Buffer | null): StoredEvent | string {
  if (!value) return 'empty message';
  let e: StoredEvent;
  try {
    e = JSON.parse(value.toString('utf8')) as StoredEvent;
  } catch {
    return 'message is not JSON';
  }
  if (typeof e !== 'object' || e === null || typeof e.event_id !== 'string' || typeof e.app_id !== 'string' || typeof e.ts !== 'number') {
    return 'message is not a stored event';
  }
  // Fill columns a producer left out, so one odd message cannot break a whole file.
  const row = e as unknown as Record<string, unknown>;
  for (const c of STORED_COLUMNS) {
    const want = (c.kind as ColumnKind) === 'string' || c.kind === 'dict' ? 'string' : 'number';
    if (typeof row[c.name] !== want) {
      row[c.name] = want === 'number' ? 0 : '';
      filled.add(e);
    }
  }
  return e;
}
