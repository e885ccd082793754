// Turns one SSE update into what the page shows. The serving layer sends (LiveUpdateSchema in
// serving/realtime/realtime-schemas.ts):
//   { now, events_per_s: [{ts, events}] (last 60 s, newest partial last),
//     last_minute: {events, installs, uv}, last_hour: {events, installs, uv},
//     today: {day, installs_by_channel, fraud_rejections_by_reason}, top_errors: [...] }
// Every field is still treated as optional, flat spellings (`events_per_s: 42`,
// `installs_by_channel` at the top) are accepted too, and what the page does not know is
// shown anyway (numbers as counters, maps of numbers as bar lists), so a payload change
// degrades the page instead of blanking it.
import { isNum, toMs } from './format.js';

const RATE_KEYS = ['events_per_s', 'events_per_sec', 'events_per_second', 'eps', 'rate'];
const MINUTE_KEYS = ['last_minute', 'events_last_minute', 'events_last_60s', 'events_1m'];
const HOUR_KEYS = ['last_hour', 'events_last_hour'];
const TOTAL_KEYS = ['events_total', 'total_events'];
const INSTALL_KEYS = ['installs_by_channel', 'installs_per_channel'];
const FRAUD_KEYS = ['fraud_rejections_by_reason', 'fraud_by_reason', 'rejected_by_reason'];
const ERROR_KEYS = ['top_errors', 'errors_top'];
const TIME_KEYS = ['now', 'ts', 'time', 'server_time', 'generated_at'];
const KNOWN = new Set([...RATE_KEYS, ...MINUTE_KEYS, ...HOUR_KEYS, ...TOTAL_KEYS, ...INSTALL_KEYS, ...FRAUD_KEYS, ...ERROR_KEYS, ...TIME_KEYS]);

// The newest second of `events_per_s` is still filling, and the one before may still be on
// its way through Kafka and the speed layer; the rate is the mean of the RATE_SPAN seconds
// before those, steady enough to read and fresh enough to move.
const SKIP_NEWEST = 2;
const RATE_SPAN = 5;

const isObj = (v) => v !== null && typeof v === 'object';
const isPlainObj = (v) => isObj(v) && !Array.isArray(v);
const isTime = (v) => isNum(v) || typeof v === 'string';

/** The first of `keys` whose value passes `test`, at the top or one object down (`today.…`). */
function find(p, keys, test, used) {
  for (const k of keys) {
    if (test(p[k])) {
      used.add(k);
      return { value: p[k], scope: '' };
    }
  }
  for (const [scope, inner] of Object.entries(p)) {
    if (!isPlainObj(inner)) continue;
    for (const k of keys) {
      if (test(inner[k])) {
        used.add(scope);
        return { value: inner[k], scope };
      }
    }
  }
  return { value: undefined, scope: '' };
}

/** `{a: 1}` or `[{channel: 'a', count: 1}]` -> `[['a', 1]]`, biggest first. */
export function toEntries(v) {
  let out = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      if (!isObj(item)) continue;
      const label = Object.values(item).find((x) => typeof x === 'string');
      const value = isNum(item.count) ? item.count : Object.values(item).find(isNum);
      if (label !== undefined && isNum(value)) out.push([label, value]);
    }
  } else if (isObj(v)) {
    out = Object.entries(v).filter(([, n]) => isNum(n));
  }
  return out.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** `[{ts, events}]` per second -> points `[ms, events]`, oldest first, partial newest dropped. */
function perSecondPoints(arr) {
  const pts = [];
  for (const p of arr) {
    const t = isObj(p) ? toMs(p.ts) : NaN;
    const v = isObj(p) ? Number(p.events) : NaN;
    if (isNum(t) && isNum(v)) pts.push([t, v]);
  }
  pts.sort((a, b) => a[0] - b[0]);
  return pts.slice(0, -1);
}

/** A window's totals: a number (events) or `{events, installs, uv}`. */
function windowTotals(v) {
  if (isNum(v)) return { events: v };
  if (!isPlainObj(v)) return undefined;
  const out = {};
  for (const [k, n] of Object.entries(v)) if (isNum(n)) out[k] = n;
  return out;
}

function isMapOfNumbers(v) {
  return isPlainObj(v) && Object.keys(v).length > 0 && Object.values(v).every(isNum);
}

function looksLikeTime(key, v) {
  return /(_at|_ts|time)$/.test(key) || (isNum(v) && v > 1e11);
}

/** Some servers wrap the counters (`{data: {...}}`); unwrap one level when that is all there is. */
function unwrap(p) {
  if (!isPlainObj(p)) return {};
  const keys = Object.keys(p);
  for (const k of ['data', 'counters', 'live', 'payload']) {
    if (isPlainObj(p[k]) && !keys.some((x) => KNOWN.has(x))) return p[k];
  }
  return p;
}

export function normalizeLive(raw) {
  const p = unwrap(raw);
  const used = new Set(['app_id', 'type', 'kind']);
  const rateField = find(p, RATE_KEYS, (v) => isNum(v) || Array.isArray(v), used).value;
  const installs = find(p, INSTALL_KEYS, isObj, used);
  const fraud = find(p, FRAUD_KEYS, isObj, used);
  const errors = find(p, ERROR_KEYS, Array.isArray, used).value;

  let rate;
  let perSecond;
  if (isNum(rateField)) rate = rateField;
  else if (Array.isArray(rateField)) {
    perSecond = perSecondPoints(rateField);
    const span = perSecond.slice(0, Math.max(0, perSecond.length - (SKIP_NEWEST - 1))).slice(-RATE_SPAN);
    if (span.length) rate = span.reduce((s, [, v]) => s + v, 0) / span.length;
  }

  const out = {
    rate,
    perSecond, // [[ms, events]] when the stream sends the per-second series
    lastMinute: windowTotals(find(p, MINUTE_KEYS, (v) => isNum(v) || isPlainObj(v), used).value),
    lastHour: windowTotals(find(p, HOUR_KEYS, (v) => isNum(v) || isPlainObj(v), used).value),
    total: find(p, TOTAL_KEYS, isNum, used).value,
    now: find(p, TIME_KEYS, isTime, used).value,
    installsByChannel: installs.value === undefined ? undefined : toEntries(installs.value),
    installsScope: installs.scope, // e.g. 'today' when nested under `today`
    fraudByReason: fraud.value === undefined ? undefined : toEntries(fraud.value),
    fraudScope: fraud.scope,
    topErrors: errors === undefined ? undefined : errors.filter(isObj),
    extraNumbers: [],
    extraMaps: [],
  };
  for (const [k, v] of Object.entries(p)) {
    if (used.has(k) || looksLikeTime(k, v)) continue;
    if (isNum(v)) out.extraNumbers.push([k, v]);
    else if (isMapOfNumbers(v)) out.extraMaps.push([k, toEntries(v)]);
  }
  return out;
}
