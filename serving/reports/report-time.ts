/**
 * Times of the read API (DESIGN.md section 7): ISO-8601 instants or dates, whole-hour `tz`
 * offsets, and the ISO renderings of bucket starts. Pure: no clock, no I/O.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Reads accept the same era as events (DESIGN.md section 3 rejects events before 2000). */
export const MIN_TIME_MS = Date.UTC(2000, 0, 1);
/** ClickHouse `DateTime` ends in 2106; leave a year of room for daily buckets and offsets. */
export const MAX_TIME_MS = Date.UTC(2105, 0, 1);

export const TZ_RULE = 'tz must be a whole-hour UTC offset ±HH:00 from -12:00 to +14:00, e.g. +08:00';
export const TIME_RULE = 'must be an ISO-8601 time (2026-11-23T14:00:00Z, 2026-11-23T14:00:00+08:00) or date (2026-11-23, midnight in tz)';

const TZ_RE = /^([+-])(\d{2}):?00$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A query string decodes `+` as a space (application/x-www-form-urlencoded), so an unescaped
 * `tz=+08:00` or `from=…T00:00:00+08:00` arrives with a space where the plus was. Put it back;
 * a space can mean nothing else in these values.
 */
const restorePlus = (s: string): string => s.replace(/ (?=\d{2}:?\d{2}$)/, '+');

/** Offset in minutes east of UTC, or undefined when not an allowed `tz`. */
export function parseTz(raw: string): number | undefined {
  const s = restorePlus(raw);
  if (s.toUpperCase() === 'Z') return 0;
  const m = TZ_RE.exec(s);
  if (!m) return undefined;
  const minutes = (m[1] === '-' ? -1 : 1) * Number(m[2]) * 60;
  return minutes >= -12 * 60 && minutes <= 14 * 60 ? minutes : undefined;
}

export const formatTz = (offsetMin: number): string => {
  const a = Math.abs(offsetMin);
  return `${offsetMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
};

/**
 * Epoch ms of an ISO-8601 time or date. A date alone, or a time without offset, is read in
 * `tzMin` (a user asking for "2026-11-23" in +08:00 means that local day). Undefined when it
 * is not a real calendar time or lies outside [MIN_TIME_MS, MAX_TIME_MS).
 */
export function parseReadTime(raw: string, tzMin: number): number | undefined {
  const m = TIME_RE.exec(restorePlus(raw.trim()));
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const [Y, M, D, H, MI, S] = [y, mo, d, h, mi, s].map(Number);
  if (M < 1 || M > 12 || D < 1 || H > 23 || MI > 59 || S > 59) return undefined;
  const local = Date.UTC(Y, M - 1, D, H, MI, S, Number((frac + '000').slice(0, 3)));
  if (new Date(local).getUTCDate() !== D) return undefined; // 2026-02-30
  let offsetMin = tzMin;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const [oh, om] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
    if (oh > 14 || om > 59) return undefined;
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  } else if (zone) {
    offsetMin = 0;
  }
  const t = local - offsetMin * 60_000;
  return t >= MIN_TIME_MS && t < MAX_TIME_MS ? t : undefined;
}

/** `2026-11-23T14:00:00Z` (offset 0 and `z`) or `2026-11-23T00:00:00+08:00`; ms only when set. */
export function formatInstant(ms: number, offsetMin: number, style: 'z' | 'offset'): string {
  const iso = new Date(ms + offsetMin * 60_000).toISOString();
  const body = iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23);
  return style === 'z' && offsetMin === 0 ? `${body}Z` : `${body}${formatTz(offsetMin)}`;
}

/** `YYYY-MM-DD` of the UTC day containing `ms`. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The smallest multiple of `unitMs` (shifted by `offsetMs`) at or after `ms`. */
export const ceilTo = (ms: number, unitMs: number, offsetMs = 0): number => Math.ceil((ms + offsetMs) / unitMs) * unitMs - offsetMs;
