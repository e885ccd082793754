// uPlot charts of the page. uPlot is loaded as a classic script (window.uPlot) before this
// module runs. Every chart follows its container's width.
import { fmtCompact, fmtNumber } from './format.js';

const U = () => window.uPlot;
export const COLORS = {
  events: '#3b5bdb',
  uv: '#7950f2',
  installs: '#2f9e44',
  errors: '#e03131',
  batch: '#364fc7',
  speed: '#f08c00',
  mixed: '#9c36b5',
  rejected: '#e03131',
  grid: '#edf0f5',
  axis: '#6b7385',
};

const axisStyle = { stroke: COLORS.axis, grid: { stroke: COLORS.grid, width: 1 }, ticks: { stroke: COLORS.grid, width: 1 } };
const fmtValue = (_u, v) => (v == null ? '–' : fmtNumber(v));

function follow(el, chart, height) {
  // The grid can change width without a window resize (fonts loading, scrollbar): watch the box.
  const ro = new ResizeObserver(() => {
    const w = Math.floor(el.clientWidth);
    if (w > 0 && w !== chart.width) chart.setSize({ width: w, height });
  });
  ro.observe(el);
  return ro;
}

/** A bare line of the recent events/s, under the big number. */
export function createSparkline(el) {
  const height = 56;
  const chart = new (U())(
    {
      width: Math.max(100, el.clientWidth),
      height,
      padding: [4, 0, 0, 0],
      legend: { show: false },
      cursor: { show: false },
      select: { show: false },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: COLORS.events, width: 2, fill: 'rgba(59, 91, 219, 0.12)', points: { show: false } }],
    },
    [[], []],
    el,
  );
  follow(el, chart, height);
  return { setData: (xs, ys) => chart.setData([xs, ys]) };
}

/** Last hour per minute: events and devices on the left axis, installs and errors on the right. */
export function createMinuteChart(el) {
  const height = 230;
  const chart = new (U())(
    {
      width: Math.max(300, el.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, max * 1.1)] }, y2: { range: (_u, _min, max) => [0, Math.max(5, max * 1.1)] } },
      axes: [
        { ...axisStyle },
        { ...axisStyle, scale: 'y', size: 56, values: (_u, t) => t.map(fmtCompact), label: 'events / uv', labelSize: 18 },
        { ...axisStyle, scale: 'y2', side: 1, size: 50, grid: { show: false }, values: (_u, t) => t.map(fmtCompact), label: 'installs / errors', labelSize: 18 },
      ],
      series: [
        { value: (_u, v) => (v == null ? '–' : new Date(v * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })) },
        { label: 'events', stroke: COLORS.events, width: 2, fill: 'rgba(59, 91, 219, 0.10)', value: fmtValue, points: { show: false } },
        { label: 'unique devices', stroke: COLORS.uv, width: 1.5, value: fmtValue, points: { show: false } },
        { label: 'installs', stroke: COLORS.installs, width: 1.5, scale: 'y2', value: fmtValue, points: { show: false } },
        { label: 'errors', stroke: COLORS.errors, width: 1.5, scale: 'y2', dash: [4, 3], value: fmtValue, points: { show: false } },
      ],
    },
    [[], [], [], [], []],
    el,
  );
  follow(el, chart, height);
  return { setData: (data) => chart.setData(data) };
}

const HOUR_S = 3600;

/**
 * Hourly events of the last 48 h as bars coloured by source (batch views are exact, speed
 * views are real-time), installs as lines, and the batch boundary as a shaded region with a
 * vertical line, so the seam between exact and provisional numbers is visible at a glance.
 */
export function createHourlyChart(el, { onHover } = {}) {
  const height = 260;
  let boundaryS = null; // epoch seconds, or null before the first batch run
  const bars = U().paths.bars({ size: [0.82, 60] });

  function shadeBatch(u) {
    if (boundaryS == null) return;
    const { ctx, bbox } = u;
    const x0 = bbox.left;
    const xb = Math.round(u.valToPos(boundaryS, 'x', true));
    const x1 = Math.min(bbox.left + bbox.width, Math.max(x0, xb));
    if (x1 <= x0) return;
    ctx.save();
    ctx.fillStyle = 'rgba(54, 79, 199, 0.06)';
    ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
    ctx.restore();
  }

  function drawBoundary(u) {
    if (boundaryS == null) return;
    const { ctx, bbox } = u;
    const x = Math.round(u.valToPos(boundaryS, 'x', true));
    if (x < bbox.left || x > bbox.left + bbox.width) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.strokeStyle = '#1d2330';
    ctx.lineWidth = 1.5 * dpr;
    ctx.setLineDash([6 * dpr, 4 * dpr]);
    ctx.beginPath();
    ctx.moveTo(x + 0.5, bbox.top);
    ctx.lineTo(x + 0.5, bbox.top + bbox.height);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = `${11 * dpr}px system-ui, sans-serif`;
    ctx.fillStyle = '#1d2330';
    const label = 'batch boundary';
    const w = ctx.measureText(label).width;
    // Keep the label inside the plot when the boundary is near the right edge.
    const lx = x + 6 * dpr + w > bbox.left + bbox.width ? x - 6 * dpr - w : x + 6 * dpr;
    ctx.fillText(label, lx, bbox.top + 13 * dpr);
    ctx.restore();
  }

  const chart = new (U())(
    {
      width: Math.max(300, el.clientWidth),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        // x values are bucket middles, so bars and lines line up; show whole buckets.
        x: { time: true, range: (_u, min, max) => [min - HOUR_S / 2, max + HOUR_S / 2] },
        y: { range: (_u, _min, max) => [0, Math.max(5, max * 1.1)] },
        y2: { range: (_u, _min, max) => [0, Math.max(5, max * 1.15)] },
      },
      axes: [
        { ...axisStyle },
        { ...axisStyle, scale: 'y', size: 56, values: (_u, t) => t.map(fmtCompact), label: 'events', labelSize: 18 },
        { ...axisStyle, scale: 'y2', side: 1, size: 50, grid: { show: false }, values: (_u, t) => t.map(fmtCompact), label: 'installs', labelSize: 18 },
      ],
      series: [
        {},
        { label: 'batch (exact)', fill: COLORS.batch, stroke: COLORS.batch, width: 0, paths: bars, points: { show: false } },
        { label: 'speed (real-time)', fill: COLORS.speed, stroke: COLORS.speed, width: 0, paths: bars, points: { show: false } },
        { label: 'mixed', fill: COLORS.mixed, stroke: COLORS.mixed, width: 0, paths: bars, points: { show: false } },
        { label: 'installs', stroke: COLORS.installs, width: 2, scale: 'y2', points: { show: false }, spanGaps: false },
        { label: 'rejected installs', stroke: COLORS.rejected, width: 1.5, dash: [4, 3], scale: 'y2', points: { show: false } },
      ],
      hooks: {
        drawAxes: [shadeBatch],
        draw: [drawBoundary],
        setCursor: [(u) => onHover && onHover(u.cursor.idx)],
      },
    },
    [[], [], [], [], [], []],
    el,
  );
  follow(el, chart, height);
  return {
    /** `data`: [bucket middles (s), batch, speed, mixed, installs, rejected]; `boundary`: epoch s or null. */
    setData(data, boundary) {
      boundaryS = boundary;
      chart.setData(data);
    },
  };
}
