// Number and time formatting for the dashboard. Pure functions, no DOM.

const INT = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const ONE = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const COMPACT = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

export function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Whole numbers as integers; small rates keep one decimal so a slow stream still moves. */
export function fmtNumber(v) {
  if (!isNum(v)) return '–';
  if (Math.abs(v) < 100 && !Number.isInteger(v)) return ONE.format(v);
  return INT.format(Math.round(v));
}

export function fmtCompact(v) {
  return isNum(v) ? COMPACT.format(v) : '–';
}

/** Epoch ms, epoch s or ISO string to epoch ms; NaN when it is none of them. */
export function toMs(v) {
  if (isNum(v)) return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string' && v) return Date.parse(v);
  return NaN;
}

export function fmtTime(ms) {
  if (!isNum(ms)) return '–';
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fmtHour(ms) {
  if (!isNum(ms)) return '–';
  return new Date(ms).toLocaleString(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
}

/** "3 min ago"-style age, for last-seen columns. */
export function fmtAgo(ms, now = Date.now()) {
  if (!isNum(ms)) return '–';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** `events_last_minute` -> "Events last minute"; `_per_s` reads as "/s". */
export function humanizeKey(key) {
  const s = String(key).replace(/_per_s(ec(ond)?)?$/, '/s').replace(/_/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}
