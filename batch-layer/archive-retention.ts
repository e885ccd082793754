/**
 * ARCHIVE_RETENTION_DAYS (DESIGN.md section 5, "Retention"): the master dataset is kept forever
 * unless it is set; then the day directories (by corrected event time) older than that many days
 * are deleted, with their compaction state. A day past retention can no longer be backfilled,
 * and a run whose read range reaches before it reads what is left.
 *
 * Each pass deletes the days from where the last one stopped (`_state/archive-retention.json`)
 * up to the cut-off, so it costs the days it deletes; only the first pass lists the archive to
 * find its oldest day.
 */
import type { ObjectStore } from '../infra/object-store/object-store';
import { ARCHIVE_PREFIX, datePrefix, parseArchiveKey } from '../schemas/archive-layout';
import { addDays, formatDay, DAY_MS } from './days';

const STATE_KEY = '_state/archive-retention.json';

interface RetentionState {
  /** Every day before this one is deleted. */
  deletedBefore: string;
}

/** Deletes the archive's days older than `retentionDays` before `now`; returns how many objects went. */
export async function expireArchive(store: ObjectStore, retentionDays: number, now: number): Promise<{ days: number; objects: number }> {
  const cutoff = formatDay(now - retentionDays * DAY_MS); // the oldest day kept
  const body = await store.get(STATE_KEY);
  let from = body ? (JSON.parse(body.toString('utf8')) as RetentionState).deletedBefore : await oldestDay(store);
  const out = { days: 0, objects: 0 };
  for (; from !== undefined && from < cutoff; from = addDays(from, 1)) {
    for (const key of [...(await store.list(datePrefix(from))), `_state/compaction/dt=${from}.json`]) {
      await store.delete(key);
      out.objects += 1;
    }
    out.days += 1;
    await store.put(STATE_KEY, Buffer.from(JSON.stringify({ deletedBefore: addDays(from, 1) } satisfies RetentionState)));
  }
  return out;
}

async function oldestDay(store: ObjectStore): Promise<string | undefined> {
  for (const key of await store.list(ARCHIVE_PREFIX)) {
    const f = parseArchiveKey(key);
    if (f) return f.date; // keys sort by day directory
  }
  return undefined;
}
