/**
 * The set of archive files a run reads, fixed once before its first statement, so every
 * statement of the run sees the same events (a file the archiver adds meanwhile would
 * otherwise be deduplicated against in one step and missing in another).
 *
 * Only the day directories the run needs are listed (DESIGN.md section 5, "What a run
 * reads"; which days: jobs/read-range.ts), never the whole archive. Only complete offset
 * ranges count: the archiver writes a range's files (one per event date) before it moves its
 * state's `next` past the range. Reading the states first and listing afterwards, every file
 * whose range ends below its partition's `next` is complete and listed; files of a range still
 * being written are left out (they are newer than the run's request anyway: the run waited for
 * the archive to reach the request's watermarks).
 *
 * One Kafka record lies in exactly one file. A range split by event date has one file per day
 * directory, all named after the same range; two *different* ranges of one partition that
 * overlap mean a record was archived twice (or a range lost): the snapshot refuses them, so a
 * run fails with the files named instead of counting such records twice.
 */
import type { ObjectStore } from '../infra/object-store/object-store';
import { archiverStateKey, datePrefix, parseArchiveKey, type ArchiveFile } from '../schemas/archive-layout';

export interface ArchiveSnapshot {
  files: ArchiveFile[];
  /** First offset not yet archived, per Kafka partition. */
  next: Map<number, number>;
  /** The day directories listed. */
  days: string[];
}

const STATE_PREFIX = archiverStateKey(0).replace(/p0\.json$/, '');

export async function readArchiverStates(store: ObjectStore): Promise<Map<number, number>> {
  const next = new Map<number, number>();
  for (const key of await store.list(STATE_PREFIX)) {
    const m = /p(\d+)\.json$/.exec(key);
    if (!m || archiverStateKey(Number(m[1])) !== key) continue;
    const body = await store.get(key);
    if (!body) continue;
    const state = JSON.parse(body.toString('utf8')) as { next?: unknown };
    if (typeof state.next === 'number') next.set(Number(m[1]), state.next);
  }
  return next;
}

/** The complete files of the day directories `days`; throws on overlapping offset ranges. */
export async function takeArchiveSnapshot(store: ObjectStore, days: readonly string[]): Promise<ArchiveSnapshot> {
  const next = await readArchiverStates(store);
  const files: ArchiveFile[] = [];
  for (const day of days) {
    for (const key of await store.list(datePrefix(day))) {
      const f = parseArchiveKey(key);
      if (f && f.date === day && f.last < (next.get(f.partition) ?? 0)) files.push(f);
    }
  }
  const overlap = findOverlap(files);
  if (overlap) {
    const [a, b] = overlap;
    throw new Error(
      `the archive holds overlapping offset ranges of Kafka partition ${a.partition}: ${a.key} (${a.first}-${a.last}) and ` +
        `${b.key} (${b.first}-${b.last}); a record would be read twice. Remove the file that duplicates the other's records ` +
        `(an archiver that kept writing after losing its partition leaves such a file) and run again`,
    );
  }
  return { files, next, days: [...days] };
}

/** Two distinct offset ranges of one partition that share an offset, if any. */
export function findOverlap(files: readonly ArchiveFile[]): [ArchiveFile, ArchiveFile] | undefined {
  const byPartition = new Map<number, ArchiveFile[]>();
  for (const f of files) {
    const list = byPartition.get(f.partition) ?? [];
    list.push(f);
    byPartition.set(f.partition, list);
  }
  for (const list of byPartition.values()) {
    list.sort((a, b) => a.first - b.first || a.last - b.last);
    let prev: ArchiveFile | undefined;
    for (const f of list) {
      if (prev && f.first <= prev.last && (f.first !== prev.first || f.last !== prev.last)) return [prev, f];
      if (!prev || f.last > prev.last) prev = f;
    }
  }
  return undefined;
}
