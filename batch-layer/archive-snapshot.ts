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
 * directory, all named after the same range. Within one day directory and partition, a file
 * whose range lies inside another's holds records the larger one holds too: compaction
 * (jobs/compact-archive.ts) writes the larger file before it deletes the ones it replaces, and
 * an archiver that redid a range wrote the same records again. The snapshot reads the larger
 * file only, so a crash at any step of compaction leaves each record read once. Two ranges that
 * overlap without one holding the other mean a record was archived twice or a range lost: the
 * snapshot refuses them, so the run fails with the files named instead of counting such
 * records twice.
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
  return new Map([...(await readArchiverPositions(store))].map(([p, s]) => [p, s.next]));
}

/** Per partition, the archiver's `next` and the id of the topic it was written for (unset by archivers before topic ids). */
export async function readArchiverPositions(store: ObjectStore): Promise<Map<number, { next: number; topicId?: string }>> {
  const out = new Map<number, { next: number; topicId?: string }>();
  for (const key of await store.list(STATE_PREFIX)) {
    const m = /p(\d+)\.json$/.exec(key);
    if (!m || archiverStateKey(Number(m[1])) !== key) continue;
    const body = await store.get(key);
    if (!body) continue;
    const state = JSON.parse(body.toString('utf8')) as { next?: unknown; topicId?: unknown };
    if (typeof state.next === 'number') out.set(Number(m[1]), { next: state.next, topicId: typeof state.topicId === 'string' ? state.topicId : undefined });
  }
  return out;
}

/** The complete files of the day directories `days`; throws on overlapping offset ranges. */
export async function takeArchiveSnapshot(store: ObjectStore, days: readonly string[]): Promise<ArchiveSnapshot> {
  const next = await readArchiverStates(store);
  const files: ArchiveFile[] = [];
  for (const day of days) {
    const complete = (await store.list(datePrefix(day)))
      .map(parseArchiveKey)
      .filter((f): f is ArchiveFile => f !== undefined && f.date === day && f.last < (next.get(f.partition) ?? 0));
    files.push(...readableFiles(complete));
  }
  return { files, next, days: [...days] };
}

/**
 * The files of one day directory to read: per partition, those whose range no other file's
 * range holds. Throws on two ranges that overlap without one holding the other.
 */
export function readableFiles(dayFiles: readonly ArchiveFile[]): ArchiveFile[] {
  const out: ArchiveFile[] = [];
  for (const list of filesByPartition(dayFiles).values()) {
    // Widest first among equal starts, so a file is checked against the one that may hold it.
    list.sort((a, b) => a.first - b.first || b.last - a.last);
    let held: ArchiveFile | undefined;
    for (const f of list) {
      if (held && f.last <= held.last) continue; // inside `held`: its records are there
      if (held && f.first <= held.last) {
        throw new Error(
          `the archive holds overlapping offset ranges of Kafka partition ${f.partition} on ${f.date}: ${held.key} ` +
            `(${held.first}-${held.last}) and ${f.key} (${f.first}-${f.last}); a record would be read twice. Remove the file ` +
            `that duplicates the other's records (an archiver that kept writing after losing its partition leaves such a file) and run again`,
        );
      }
      out.push(f);
      held = f;
    }
  }
  return out;
}

/** `files` grouped by Kafka partition (a day of small files holds thousands). */
export function filesByPartition(files: readonly ArchiveFile[]): Map<number, ArchiveFile[]> {
  const out = new Map<number, ArchiveFile[]>();
  for (const f of files) {
    const list = out.get(f.partition);
    if (list) list.push(f);
    else out.set(f.partition, [f]);
  }
  return out;
}
