/**
 * The set of archive files a run reads, fixed once before its first statement, so every
 * statement of the run sees the same events (a file the archiver adds meanwhile would
 * otherwise be deduplicated against in one step and missing in another).
 *
 * Only complete offset ranges count: the archiver writes a range's files (one per event
 * date) before it moves its state's `next` past the range. Reading the states first and
 * listing afterwards, every file whose range ends below its partition's `next` is complete
 * and listed; files of a range still being written are left out (they are newer than the
 * run's request anyway: the run waited for the archive to reach the request's watermarks).
 */
import type { ObjectStore } from '../infra/object-store/object-store';
import { ARCHIVE_PREFIX, archiverStateKey, parseArchiveKey, type ArchiveFile } from '../schemas/archive-layout';

export interface ArchiveSnapshot {
  files: ArchiveFile[];
  /** First offset not yet archived, per Kafka partition. */
  next: Map<number, number>;
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

export async function takeArchiveSnapshot(store: ObjectStore): Promise<ArchiveSnapshot> {
  const next = await readArchiverStates(store);
  const files: ArchiveFile[] = [];
  for (const key of await store.list(ARCHIVE_PREFIX)) {
    const f = parseArchiveKey(key);
    if (f && f.last < (next.get(f.partition) ?? 0)) files.push(f);
  }
  return { files, next };
}
