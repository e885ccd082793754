/**
 * Which views answer which part of a report (DESIGN.md section 5): an hour is answered from
 * batch views when its UTC day is covered, otherwise from speed views; a bucket is labelled
 * by the sides its hours come from. Labels follow the bucket's hours and the coverage, not
 * the rows that happen to exist, so an empty side still yields `mixed` for a seam-spanning day.
 */
import type { Granularity, Source } from './report-schemas';
import { DAY_MS, HOUR_MS, utcDay } from './report-time';

export interface SourcePlan {
  /** Covered UTC days inside the report's hours, ascending: these hours come from batch. */
  coveredDays: string[];
  /** Whether any hour of the report comes from batch views / from speed views. */
  batch: boolean;
  speed: boolean;
}

/** UTC days overlapping [loMs, hiMs), ascending. */
function daysOf(loMs: number, hiMs: number): string[] {
  const days: string[] = [];
  for (let d = Math.floor(loMs / DAY_MS) * DAY_MS; d < hiMs; d += DAY_MS) days.push(utcDay(d));
  return days;
}

export function planSources(span: { loMs: number; hiMs: number }, covered: ReadonlySet<string>): SourcePlan {
  const days = daysOf(span.loMs, span.hiMs);
  const coveredDays = days.filter((d) => covered.has(d));
  return { coveredDays, batch: coveredDays.length > 0, speed: coveredDays.length < days.length };
}

/** The source label of the bucket starting at `startMs`. */
export function bucketSource(startMs: number, granularity: Granularity, covered: ReadonlySet<string>): Source {
  // A bucket is one hour or 24 whole hours, so it touches at most two UTC days.
  const first = covered.has(utcDay(startMs));
  const last = covered.has(utcDay(startMs + (granularity === 'hourly' ? HOUR_MS : DAY_MS) - 1));
  if (first && last) return 'batch';
  return first || last ? 'mixed' : 'speed';
}

/**
 * A run of a report's buckets that one cache entry holds: for hourly reports the hours of one
 * UTC day (clipped to the report), for daily reports one bucket. Its rows change only when
 * the views of one of `days` do.
 */
export interface ReportSegment {
  loMs: number;
  hiMs: number;
  /** UTC days its hours fall on, ascending. */
  days: string[];
}

export function reportSegments(q: { granularity: Granularity; loMs: number; hiMs: number }): ReportSegment[] {
  const segments: ReportSegment[] = [];
  const push = (loMs: number, hiMs: number) => segments.push({ loMs, hiMs, days: [...new Set([utcDay(loMs), utcDay(hiMs - 1)])] });
  if (q.granularity === 'daily') {
    for (let t = q.loMs; t < q.hiMs; t += DAY_MS) push(t, t + DAY_MS);
  } else {
    for (let d = Math.floor(q.loMs / DAY_MS) * DAY_MS; d < q.hiMs; d += DAY_MS) push(Math.max(q.loMs, d), Math.min(q.hiMs, d + DAY_MS));
  }
  return segments;
}
