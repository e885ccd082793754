/**
 * UTC day arithmetic of the batch layer (DESIGN.md section 5): which days a run recomputes,
 * when a day has closed plus the grace period, and the boundary. Pure: takes `now`.
 */
export const DAY_MS = 86_400_000;
/** The first day that can hold events: earlier events are rejected (DESIGN.md section 3). */
export const FIRST_DAY = '2000-01-01';
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Epoch ms of a `YYYY-MM-DD` day's UTC midnight; undefined when it is no real day. */
export function dayStartMs(day: string): number | undefined {
  if (!DAY_RE.test(day)) return undefined;
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (!Number.isFinite(ms) || formatDay(ms) !== day) return undefined; // 2026-02-30
  return ms;
}

export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return formatDay(requireDay(day) + n * DAY_MS);
}

export function requireDay(day: string): number {
  const ms = dayStartMs(day);
  if (ms === undefined) throw new RangeError(`not a day: ${JSON.stringify(day)} (expected YYYY-MM-DD)`);
  return ms;
}

/** The days a run for `day` recomputes: `day − k … day`, ascending. */
export function recomputeWindow(day: string, recomputeDays: number): string[] {
  return Array.from({ length: recomputeDays + 1 }, (_, i) => addDays(day, i - recomputeDays));
}

/** Consecutive days `from … to`, ascending (empty when `to` is before `from`). */
export function dayRange(from: string, to: string): string[] {
  const out: string[] = [];
  for (let ms = requireDay(from), end = requireDay(to); ms <= end; ms += DAY_MS) out.push(formatDay(ms));
  return out;
}

/** A day may be recomputed once it has ended plus the grace period. */
export function hasClosed(day: string, now: number, graceMinutes: number): boolean {
  return requireDay(day) + DAY_MS + graceMinutes * 60_000 <= now;
}

/** The latest day that has closed plus grace at `now`. */
export function latestClosedDay(now: number, graceMinutes: number): string {
  return formatDay(now - graceMinutes * 60_000 - DAY_MS);
}

/**
 * End of the latest covered day as `2026-11-24T00:00:00Z` (the form reports give it), or null
 * when no day is covered.
 */
export function boundaryOf(coveredDays: readonly string[]): string | null {
  if (coveredDays.length === 0) return null;
  const latest = coveredDays.reduce((a, b) => (a > b ? a : b));
  return `${addDays(latest, 1)}T00:00:00Z`;
}

/**
 * The runs that catch up after downtime: the closed days after the latest covered one, each
 * run covering up to `k + 1` of them, oldest first. With nothing covered yet no run was ever
 * missed: a fresh installation waits for its first nightly run (or an explicit run or
 * backfill) rather than covering past days with whatever little the archive holds at start-up,
 * which would hide the speed views of those days behind near-empty batch views.
 */
export function catchUpRunDays(latestCovered: string | undefined, latestClosed: string, recomputeDays: number): string[] {
  if (latestCovered === undefined) return [];
  if (latestCovered >= latestClosed) return [];
  const missed = dayRange(addDays(latestCovered, 1), latestClosed);
  const runs: string[] = [];
  for (let i = missed.length - 1; i >= 0; i -= recomputeDays + 1) runs.unshift(missed[i]);
  return runs;
}

export function daysOverlap(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return b.some((d) => set.has(d));
}
