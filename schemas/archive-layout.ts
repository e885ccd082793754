/**
 * Key layout of the master dataset in object storage, shared by the archiver (writes) and
 * the batch layer (reads): `events/dt=YYYY-MM-DD/events-p<P>-<first>-<last>.arrow`, one
 * file per Kafka partition, offset range and corrected event date. Offsets are zero-padded
 * so keys sort by offset. A retry of the same range rewrites the same keys.
 */
import { TOPICS } from './topics';

export const ARCHIVE_PREFIX = 'events/';
const pad = (n: number) => String(n).padStart(20, '0');

export const eventDate = (ts: number): string => new Date(ts).toISOString().slice(0, 10);

export function archiveKey(date: string, partition: number, first: number, last: number): string {
  return `${ARCHIVE_PREFIX}dt=${date}/${TOPICS.events}-p${partition}-${pad(first)}-${pad(last)}.arrow`;
}

export function datePrefix(date: string): string {
  return `${ARCHIVE_PREFIX}dt=${date}/`;
}

const KEY_RE = /^events\/dt=(\d{4}-\d{2}-\d{2})\/events-p(\d+)-(\d{20})-(\d{20})\.arrow$/;

export interface ArchiveFile {
  key: string;
  date: string;
  partition: number;
  first: number;
  last: number;
}

export function parseArchiveKey(key: string): ArchiveFile | undefined {
  const m = KEY_RE.exec(key);
  return m ? { key, date: m[1], partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]) } : undefined;
}

/** Where the archiver records, per partition, the next offset and a range being written. */
export const archiverStateKey = (partition: number) => `_state/archiver/${TOPICS.events}-p${partition}.json`;
