// Small DOM renderers. Values from the server only ever reach the page as textContent.
import { fmtAgo, fmtNumber, humanizeKey, toMs } from './format.js';

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Horizontal bars, longest first; long tails are summed into one line. */
export function renderBars(container, entries, { empty = 'Nothing yet.', limit = 8 } = {}) {
  container.replaceChildren();
  if (!entries || entries.length === 0) {
    container.append(h('p', 'empty', empty));
    return;
  }
  const max = Math.max(...entries.map(([, v]) => v), 1);
  for (const [label, value] of entries.slice(0, limit)) {
    const row = h('div', 'bar-row');
    const name = h('span', 'bar-label', label === '' ? '(none)' : label);
    name.title = label;
    const track = h('div', 'bar-track');
    const fill = h('div', 'bar-fill');
    fill.style.width = `${Math.max(1.5, (value / max) * 100)}%`;
    track.append(fill);
    row.append(name, track, h('span', 'bar-value', fmtNumber(value)));
    container.append(row);
  }
  if (entries.length > limit) {
    const rest = entries.slice(limit).reduce((s, [, v]) => s + v, 0);
    container.append(h('div', 'bars-more', `+ ${entries.length - limit} more (${fmtNumber(rest)})`));
  }
}

/** Rows `{ fingerprint, error_type, count, sample_message, last_seen }`; every field optional. */
export function renderErrors(tbody, rows, { empty = 'No errors in the last hour.', limit = 10 } = {}) {
  tbody.replaceChildren();
  if (!rows || rows.length === 0) {
    const tr = h('tr', 'empty-row');
    const td = h('td', '', empty);
    td.colSpan = 4;
    tr.append(td);
    tbody.append(tr);
    return;
  }
  for (const r of rows.slice(0, limit)) {
    const tr = h('tr');
    const type = h('td');
    type.append(h('span', 'err-type', String(r.error_type ?? r.type ?? 'error')));
    if (r.fingerprint) type.append(h('span', 'fp', String(r.fingerprint)));
    const msgText = String(r.sample_message ?? r.message ?? '');
    const msg = h('td', 'msg', msgText);
    msg.title = msgText;
    const count = h('td', 'num', fmtNumber(Number(r.count)));
    const seen = h('td', 'muted', r.last_seen ? fmtAgo(toMs(r.last_seen)) : '–');
    tr.append(type, msg, count, seen);
    tbody.append(tr);
  }
}

/** Totals, plus counters the page has no dedicated card for (so a new server field shows up at once). `numbers`: [[label, value]]. */
export function renderExtras(statsEl, mapsEl, numbers, maps) {
  statsEl.replaceChildren();
  if (numbers.length === 0) statsEl.append(h('div', 'empty', 'No totals in the stream.'));
  for (const [label, v] of numbers) statsEl.append(h('dt', '', label), h('dd', '', fmtNumber(v)));
  mapsEl.replaceChildren();
  for (const [k, entries] of maps.slice(0, 4)) {
    const wrap = h('div', 'extra-map');
    wrap.append(h('h3', '', humanizeKey(k)));
    const bars = h('div', 'bars bars-generic');
    renderBars(bars, entries, { limit: 5 });
    wrap.append(bars);
    mapsEl.append(wrap);
  }
}
