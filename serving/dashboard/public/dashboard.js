// The dashboard page: asks for an app and its read key, then keeps every card fed from the
// live stream (SSE, once a second) and the REST API (charts, refreshed on timers). Meant to
// stay open for days: buffers are bounded, timers are cleared on "change app", and the
// stream reconnects by itself.
import { ApiError, createApi } from './api.js';
import { createHourlyChart, createMinuteChart, createSparkline } from './charts.js';
import { fmtHour, fmtNumber, fmtTime, humanizeKey, isNum, toMs } from './format.js';
import { normalizeLive } from './live-payload.js';
import { APP_ID_RE, forgetKey, readSettings, saveSettings } from './settings.js';
import { renderBars, renderErrors, renderExtras } from './widgets.js';

const $ = (id) => document.getElementById(id);
const SPARK_SECONDS = 300;
const HOUR_MS = 3600000;
const REFRESH_MS = { minute: 15000, hourly: 60000, errors: 30000, breakdowns: 60000 };
// A live field counts as "provided by the stream" for this long after it was last seen;
// until then the REST fallback for that card stays quiet.
const SSE_FRESH_MS = 10000;

let charts = null; // created once, on the first dashboard shown; reused across apps
let session = null;

// ---------------------------------------------------------------- connect form and status

function setStatus(state, text) {
  const el = $('status');
  el.dataset.state = state;
  $('status-text').textContent = text;
}

function showBanner(text, kind = 'warn') {
  const el = $('banner');
  if (!text) {
    el.hidden = true;
    return;
  }
  el.dataset.kind = kind;
  el.textContent = text;
  el.hidden = false;
}

function authMessage(app, err) {
  const detail = err.message ? ` The server said: “${err.message}”.` : '';
  if (err.status === 401) {
    return `The read key was not accepted (401 unauthorized). Paste the read key of app “${app}”; a write key cannot read.${detail}`;
  }
  return `App “${app}” was not found for this read key (404). A read key opens only its own app: check the app id, or use the read key of that app.${detail}`;
}

function showConnect({ app = '', key = '' } = {}, error = '') {
  $('dashboard').hidden = true;
  $('switch-app').hidden = true;
  $('app-label').hidden = true;
  $('connect').hidden = false;
  $('connect-app').value = app;
  $('connect-key').value = key;
  const errEl = $('connect-error');
  errEl.textContent = error;
  errEl.hidden = !error;
  showBanner('');
  if (!error) setStatus('idle', 'not connected');
  (app ? $('connect-key') : $('connect-app')).focus();
}

// ---------------------------------------------------------------- one app's dashboard

function startSession({ app, key }) {
  const api = createApi({ app, key });
  const timers = [];
  const fresh = { installs: 0, fraud: 0, errors: 0 };
  let stream = null;
  let stopped = false;

  $('connect').hidden = true;
  $('dashboard').hidden = false;
  $('switch-app').hidden = false;
  $('app-label').hidden = false;
  $('app-label').textContent = app;
  document.title = `${app} · weir live`;
  charts ??= {
    spark: createSparkline($('sparkline')),
    minute: createMinuteChart($('minute-chart')),
    hourly: createHourlyChart($('hourly-chart'), { onHover: (i) => hourlyReadout(i) }),
  };

  function stop() {
    stopped = true;
    for (const t of timers) clearInterval(t);
    stream?.close();
  }

  function onAuthError(err) {
    if (stopped) return;
    stop();
    forgetKey();
    setStatus('error', err.status === 401 ? 'key rejected' : 'app not found');
    showConnect({ app }, authMessage(app, err));
  }

  /** Runs a loader; key problems end the session, other failures show on the card and retry on the next tick. */
  async function guarded(fn, errEl) {
    try {
      await fn();
      if (errEl) errEl.hidden = true;
    } catch (err) {
      if (stopped) return;
      if (err instanceof ApiError && err.isAuth) return onAuthError(err);
      if (errEl) {
        errEl.textContent = `could not load: ${err.message}${err.status ? ` (${err.status})` : ''}`;
        errEl.hidden = false;
      }
    }
  }

  function every(ms, fn) {
    void fn();
    timers.push(setInterval(() => !stopped && !document.hidden && fn(), ms));
  }

  // ------------------------------------------------------------ live counter + sparkline
  const rateEl = $('live-rate');
  const spark = new Map(); // epoch second -> events/s; bounded to SPARK_SECONDS
  let shown = NaN;
  let anim = 0;
  let updates = 0;
  let prevTotal = null;
  rateEl.textContent = '–';
  rateEl.dataset.value = '';
  rateEl.dataset.updates = '0';

  /** Tweens the big number so a change is seen, not just swapped in. */
  function animateTo(target) {
    cancelAnimationFrame(anim);
    const from = isNum(shown) ? shown : target;
    const t0 = performance.now();
    const step = (t) => {
      const k = Math.min(1, (t - t0) / 500);
      shown = from + (target - from) * (1 - (1 - k) ** 3);
      rateEl.textContent = fmtNumber(k === 1 ? target : Number.isInteger(target) ? Math.round(shown) : shown);
      if (k < 1) anim = requestAnimationFrame(step);
    };
    anim = requestAnimationFrame(step);
  }

  /** Points `[ms, value]`; a later snapshot of the same second wins (it is more complete). */
  function addSpark(points) {
    if (!points.length) return;
    for (const [ms, v] of points) spark.set(Math.floor(ms / 1000), v);
    const xs = [...spark.keys()].sort((a, b) => a - b);
    const cut = xs[xs.length - 1] - SPARK_SECONDS;
    for (const x of xs) if (x <= cut) spark.delete(x);
    const kept = xs.filter((x) => x > cut);
    charts.spark.setData(kept, kept.map((x) => spark.get(x)));
  }

  function onLive(raw) {
    if (stopped) return;
    const live = normalizeLive(raw);
    const serverMs = toMs(live.now);
    const at = isNum(serverMs) ? serverMs : Date.now();
    const minute = live.lastMinute ?? {};
    let rate = live.rate;
    // Fallbacks when the stream has no rate field: the growth of a running total, else the
    // last minute's average.
    if (!isNum(rate) && isNum(live.total) && prevTotal) rate = Math.max(0, (live.total - prevTotal.v) / Math.max(1, (at - prevTotal.at) / 1000));
    if (!isNum(rate) && isNum(minute.events)) rate = minute.events / 60;
    if (isNum(live.total)) prevTotal = { v: live.total, at };

    updates += 1;
    rateEl.dataset.updates = String(updates);
    if (isNum(rate)) {
      rateEl.dataset.value = String(rate);
      animateTo(rate);
    }
    if (live.perSecond) addSpark(live.perSecond);
    else if (isNum(rate)) addSpark([[at, rate]]);

    const parts = [];
    if (isNum(minute.events)) parts.push(`${fmtNumber(minute.events)} events`);
    if (isNum(minute.installs)) parts.push(`${fmtNumber(minute.installs)} installs`);
    if (isNum(minute.uv)) parts.push(`${fmtNumber(minute.uv)} devices`);
    $('live-sub').textContent = parts.length ? `${parts.join(' · ')} in the last minute` : 'live from the speed layer';
    $('live-updated').textContent = `updated ${fmtTime(Date.now())}`;

    const now = Date.now();
    const scopeHint = (scope) => (scope === 'today' ? 'today (UTC), live' : scope ? `${scope.replace(/_/g, ' ')}, live` : 'live');
    if (live.installsByChannel) {
      fresh.installs = now;
      $('installs-hint').textContent = scopeHint(live.installsScope);
      renderBars($('installs-bars'), live.installsByChannel, { empty: 'No installs yet.' });
    }
    if (live.fraudByReason) {
      fresh.fraud = now;
      $('fraud-hint').textContent = scopeHint(live.fraudScope);
      renderBars($('fraud-bars'), live.fraudByReason, { empty: 'No rejected installs.' });
    }
    if (live.topErrors) {
      fresh.errors = now;
      $('errors-hint').textContent = 'last hour, live';
      renderErrors($('errors-table').tBodies[0], live.topErrors);
    }
    const totals = [];
    const label = { events: 'Events', installs: 'Installs', uv: 'Unique devices' };
    for (const [name, win] of [['last minute', live.lastMinute], ['last hour', live.lastHour]]) {
      for (const [k, v] of Object.entries(win ?? {})) totals.push([`${label[k] ?? humanizeKey(k)}, ${name}`, v]);
    }
    renderExtras($('extra-stats'), $('extra-maps'), [...totals, ...live.extraNumbers.map(([k, v]) => [humanizeKey(k), v])], live.extraMaps);
  }

  function onStreamState(state, err) {
    if (stopped) return;
    if (state === 'error' && err) return onAuthError(err);
    const text = { connecting: 'connecting…', live: 'live', stale: 'waiting for updates…', reconnecting: 'reconnecting…' }[state] ?? state;
    setStatus(state, text);
    showBanner(state === 'reconnecting' ? 'The live stream is interrupted; reconnecting. The charts below keep refreshing.' : '');
  }

  // ------------------------------------------------------------ REST loaders

  /** Dense series: the API may leave out empty buckets, the chart must not. */
  function denseSeries(body, windowS, stepS) {
    const stepMs = stepS * 1000;
    const nowMs = isNum(toMs(body.now)) ? toMs(body.now) : Date.now();
    const byTs = new Map();
    for (const p of Array.isArray(body.series) ? body.series : []) {
      const t = toMs(p.ts);
      if (isNum(t)) byTs.set(Math.floor(t / stepMs) * stepMs, p);
    }
    // The current bucket is still filling; leaving it out avoids a fake drop at the end.
    const last = Math.floor(nowMs / stepMs) * stepMs - stepMs;
    const out = [];
    for (let t = last - windowS * 1000 + stepMs; t <= last; t += stepMs) out.push([t, byTs.get(t) ?? {}]);
    return out;
  }

  async function loadMinute() {
    const body = await api.getJson('/realtime', { window: 3600, step: 60 });
    const pts = denseSeries(body, 3600, 60);
    const num = (v) => (isNum(Number(v)) && v !== null && v !== '' ? Number(v) : 0);
    charts.minute.setData([
      pts.map(([t]) => t / 1000),
      pts.map(([, p]) => num(p.events)),
      pts.map(([, p]) => num(p.uv)),
      pts.map(([, p]) => num(p.installs)),
      pts.map(([, p]) => num(p.errors)),
    ]);
  }

  /** Seeds the sparkline with the last minutes (same 1 s grain as the stream) so it is not empty on load. */
  async function seedSparkline() {
    const body = await api.getJson('/realtime', { window: SPARK_SECONDS, step: 1 });
    const pts = denseSeries(body, SPARK_SECONDS, 1).map(([t, p]) => [t, Number(p.events) || 0]);
    // Seconds the stream already sent are fresher than this answer: keep those.
    addSpark(pts.filter(([t]) => !spark.has(Math.floor(t / 1000))));
  }

  let hourly = { rows: [], boundaryMs: NaN };
  function hourlyReadout(i) {
    const el = $('hourly-readout');
    const r = i == null ? null : hourly.rows[i];
    if (!r) {
      el.textContent = '\u00a0';
      return;
    }
    const src = { batch: 'batch (exact)', speed: 'speed (real-time)', mixed: 'batch + speed' }[r.source] ?? r.source;
    el.textContent = `${fmtHour(r.start)} · ${fmtNumber(r.events)} events · ${fmtNumber(r.installs)} installs (${fmtNumber(r.attributed)} attributed, ${fmtNumber(r.rejected)} rejected) · ${src}`;
  }

  async function loadHourly() {
    const now = Date.now();
    const from = Math.floor(now / HOUR_MS) * HOUR_MS - 47 * HOUR_MS; // 48 whole UTC hours incl. the current one
    const body = await api.getJson('/reports/hourly', {
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      metrics: 'events,installs,attributed_installs,rejected_installs',
    });
    const boundaryMs = toMs(body.boundary);
    const buckets = new Map();
    for (const r of Array.isArray(body.rows) ? body.rows : []) {
      const t = toMs(r.bucket);
      if (!isNum(t)) continue;
      const b = buckets.get(t) ?? { events: 0, installs: 0, attributed: 0, rejected: 0, sources: new Set() };
      b.events += Number(r.events) || 0;
      b.installs += Number(r.installs) || 0;
      b.attributed += Number(r.attributed_installs) || 0;
      b.rejected += Number(r.rejected_installs) || 0;
      if (r.source) b.sources.add(r.source);
      buckets.set(t, b);
    }
    const rows = [];
    for (let t = from; t <= now; t += HOUR_MS) {
      const b = buckets.get(t);
      // A bucket with no row had no events; its side follows from the boundary.
      const implied = isNum(boundaryMs) && t + HOUR_MS <= boundaryMs ? 'batch' : 'speed';
      const source = !b || b.sources.size === 0 ? implied : b.sources.size > 1 ? 'mixed' : [...b.sources][0];
      rows.push({ start: t, source, events: b?.events ?? 0, installs: b?.installs ?? 0, attributed: b?.attributed ?? 0, rejected: b?.rejected ?? 0 });
    }
    hourly = { rows, boundaryMs };
    const pick = (src) => rows.map((r) => (r.source === src ? r.events : null));
    charts.hourly.setData(
      [rows.map((r) => (r.start + HOUR_MS / 2) / 1000), pick('batch'), pick('speed'), pick('mixed'), rows.map((r) => r.installs), rows.map((r) => r.rejected)],
      isNum(boundaryMs) ? boundaryMs / 1000 : null,
    );
    const bt = $('boundary-text');
    if (!isNum(boundaryMs)) bt.textContent = 'No batch run yet: every hour is real-time.';
    else if (boundaryMs <= from) bt.textContent = `Batch boundary ${fmtHour(boundaryMs)}: every hour shown is real-time.`;
    else bt.textContent = `Batch boundary: ${fmtHour(boundaryMs)} (${new Date(boundaryMs).toISOString().slice(0, 16).replace('T', ' ')} UTC)`;
  }

  async function loadTopErrors() {
    if (Date.now() - fresh.errors < SSE_FRESH_MS) return;
    const body = await api.getJson('/errors/top', { window: 3600 });
    if (Date.now() - fresh.errors < SSE_FRESH_MS) return;
    $('errors-hint').textContent = 'last hour';
    renderErrors($('errors-table').tBodies[0], Array.isArray(body.rows) ? body.rows : []);
  }

  /**
   * When the stream carries no installs-by-channel or fraud counts, today's hourly report
   * grouped by channel / fraud reason stands in (refreshed every minute, labelled so).
   */
  async function loadBreakdowns() {
    const now = Date.now();
    const params = { from: new Date(Math.floor(now / 86400000) * 86400000).toISOString(), to: new Date(now).toISOString() };
    const sumBy = (rows, dim, metric) => {
      const m = new Map();
      for (const r of rows) m.set(String(r[dim] ?? ''), (m.get(String(r[dim] ?? '')) ?? 0) + (Number(r[metric]) || 0));
      return [...m.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    };
    if (now - fresh.installs > SSE_FRESH_MS) {
      const body = await api.getJson('/reports/hourly', { ...params, metrics: 'installs', group_by: 'channel' });
      if (Date.now() - fresh.installs > SSE_FRESH_MS) {
        $('installs-hint').textContent = 'today (UTC)';
        renderBars($('installs-bars'), sumBy(body.rows ?? [], 'channel', 'installs'), { empty: 'No installs today.' });
      }
    }
    if (now - fresh.fraud > SSE_FRESH_MS) {
      const body = await api.getJson('/reports/hourly', { ...params, metrics: 'rejected_installs', group_by: 'fraud_reason' });
      if (Date.now() - fresh.fraud > SSE_FRESH_MS) {
        $('fraud-hint').textContent = 'today (UTC)';
        renderBars($('fraud-bars'), sumBy(body.rows ?? [], 'fraud_reason', 'rejected_installs').filter(([k]) => k !== ''), { empty: 'No rejected installs today.' });
      }
    }
  }

  setStatus('connecting', 'connecting…');
  stream = api.openStream({ onUpdate: onLive, onState: onStreamState });
  void guarded(seedSparkline);
  every(REFRESH_MS.minute, () => guarded(loadMinute, $('minute-error')));
  every(REFRESH_MS.hourly, () => guarded(loadHourly, $('hourly-error')));
  every(REFRESH_MS.errors, () => guarded(loadTopErrors, $('errors-error')));
  // Give the stream a few seconds to show what it carries before asking for fallbacks.
  const fallback = setTimeout(() => !stopped && every(REFRESH_MS.breakdowns, () => guarded(loadBreakdowns)), 5000);
  timers.push(fallback);

  return { stop };
}

// ---------------------------------------------------------------- boot

function open(settings) {
  session?.stop();
  session = null;
  if (!settings.app || !settings.key) return showConnect(settings);
  if (!APP_ID_RE.test(settings.app)) {
    return showConnect(settings, `“${settings.app}” is not a valid app id: lowercase letters, digits, “_” and “-”, starting with a letter or digit.`);
  }
  saveSettings(settings);
  session = startSession(settings);
}

$('connect-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  open({ app: $('connect-app').value.trim(), key: $('connect-key').value.trim() });
});

$('switch-app').addEventListener('click', () => {
  session?.stop();
  session = null;
  forgetKey();
  showConnect({ app: $('connect-app').value || $('app-label').textContent });
});

if (!window.uPlot) {
  showBanner('The chart library failed to load; reload the page.', 'error');
} else {
  open(readSettings());
}
