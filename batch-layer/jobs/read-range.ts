/**
 * What a run reads (DESIGN.md section 5): only what its days need, so that its cost follows
 * the traffic of those days and never the age of the master dataset.
 *
 *   - the window's events: the day directories of the window (the archiver files every event
 *     under the UTC day of its corrected time);
 *   - the clicks that can decide the window's installs: back to the longest lookback of any
 *     app (rule 2; at least the 24 h of rule 3 and of the flooding count);
 *   - the copies that can duplicate the window's events: copies are at most the dedup horizon
 *     apart in receive time, and a copy's corrected time moves with its receive time (the
 *     client's `sent_at` moves with it), so they lie within the horizon and a day of each
 *     other's day directory. (A copy whose client clock jumped by more than the horizon
 *     between two sends of one event is not looked for: it counts as its own event.)
 *
 * The first install of each device before the window is not read from the archive: it is the
 * state earlier runs left (sql/02-prior-installs.sql).
 */
import { DAY_MS, dayRange, formatDay, requireDay } from '../days';

export interface ReadRange {
  /** Day directories to list, ascending. */
  days: string[];
  /** Clicks at or after this time (ms) can decide a first install of the window. */
  clickFromMs: number;
  windowStartMs: number;
  windowEndMs: number;
}

export function readRange(windowDays: readonly string[], longestLookbackDays: number, horizonDays: number): ReadRange {
  if (windowDays.length === 0) throw new RangeError('a run needs at least one day');
  const windowStartMs = requireDay(windowDays[0]);
  const windowEndMs = requireDay(windowDays[windowDays.length - 1]) + DAY_MS;
  const lookback = Math.max(1, longestLookbackDays);
  const before = Math.max(lookback, horizonDays + 1);
  const days = dayRange(formatDay(windowStartMs - before * DAY_MS), formatDay(windowEndMs + horizonDays * DAY_MS));
  return { days, clickFromMs: windowStartMs - lookback * DAY_MS, windowStartMs, windowEndMs };
}
