/** Prometheus metrics of the batch layer, on the process registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { OTHER_LABEL, TOP_N_LABEL_VALUES, topKeys } from '../infra/top-n-labels';
import type { AttributionDiff, DriftRow, Run } from './run-types';

export interface BatchMetrics {
  runFinished(run: Run, seconds: number): void;
  boundary(boundary: string | null): void;
}

export function createBatchMetrics(registry: Registry): BatchMetrics {
  const registers = [registry];
  const runs = new Counter({ name: 'weir_batch_runs_total', help: 'Finished batch runs by status', labelNames: ['status'], registers });
  const duration = new Histogram({ name: 'weir_batch_run_duration_seconds', help: 'Duration of batch runs', buckets: [1, 5, 15, 60, 300, 900, 3600], registers });
  const rows = new Gauge({ name: 'weir_batch_last_run_rows_read', help: 'Archive rows the last succeeded run read', registers });
  const dups = new Gauge({ name: 'weir_batch_last_run_duplicates_dropped', help: 'Duplicate copies the last succeeded run dropped', registers });
  const late = new Gauge({ name: 'weir_batch_last_run_late_events', help: 'Late events the last succeeded run took in', registers });
  const boundary = new Gauge({ name: 'weir_batch_boundary_timestamp_seconds', help: 'End of the latest day covered by batch views', registers });
  // Labelled by the days of the last succeeded run only (reset per run) and by its top N apps
  // (the rest as app_id="other", boundedDrift): bounded cardinality however many apps there are.
  const driftAbs = new Gauge({ name: 'weir_batch_drift_abs', help: 'Speed minus batch figure per day, app and metric (last run)', labelNames: ['day', 'app_id', 'metric'], registers });
  const driftRel = new Gauge({ name: 'weir_batch_drift_rel', help: '(speed - batch) / batch per day, app and metric (last run)', labelNames: ['day', 'app_id', 'metric'], registers });
  const diff = new Gauge({ name: 'weir_batch_attribution_diff', help: 'First installs batch decided differently from the stream (last run)', labelNames: ['kind'], registers });

  return {
    runFinished(run, seconds) {
      runs.inc({ status: run.status });
      duration.observe(seconds);
      if (run.status !== 'succeeded') return;
      rows.set(run.rows_read);
      dups.set(run.duplicates_dropped);
      late.set(run.late_events);
      setDrift(run.drift ?? []);
      setDiff(run.attribution_diff);
    },
    boundary(b) {
      if (b) boundary.set(Date.parse(b) / 1000);
    },
  };

  function setDrift(rowsOfRun: DriftRow[]) {
    driftAbs.reset();
    driftRel.reset();
    for (const r of boundedDrift(rowsOfRun, TOP_N_LABEL_VALUES)) {
      const labels = { day: r.day, app_id: r.app_id, metric: r.metric };
      if (r.abs_diff !== null) driftAbs.set(labels, r.abs_diff);
      if (r.rel_diff !== null) driftRel.set(labels, r.rel_diff);
    }
  }
  function setDiff(d: AttributionDiff | null) {
    if (!d) return;
    for (const [kind, n] of Object.entries(d)) diff.set({ kind }, n);
  }
}

type DriftGauge = Pick<DriftRow, 'day' | 'app_id' | 'metric' | 'abs_diff' | 'rel_diff'>;

/**
 * The drift rows of the `topN` apps of greatest drift (sum of |speed − batch| over the run),
 * and per day and metric one `other` row for the rest: their summed difference, relative to
 * their summed batch figure (0 when both are 0, null when only the batch sum is 0).
 */
export function boundedDrift(rows: readonly DriftRow[], topN: number): DriftGauge[] {
  const weights = new Map<string, number>();
  for (const r of rows) weights.set(r.app_id, (weights.get(r.app_id) ?? 0) + Math.abs(r.abs_diff ?? 0));
  const top = topKeys(weights, topN);
  const out: DriftGauge[] = rows.filter((r) => top.has(r.app_id));
  const others = new Map<string, { day: string; metric: string; abs: number; batch: number; any: boolean }>();
  for (const r of rows) {
    if (top.has(r.app_id)) continue;
    const key = `${r.day} ${r.metric}`;
    const o = others.get(key) ?? { day: r.day, metric: r.metric, abs: 0, batch: 0, any: false };
    others.set(key, o);
    if (r.abs_diff === null) continue; // the speed side expired: no difference to sum
    o.abs += r.abs_diff;
    o.batch += r.batch;
    o.any = true;
  }
  for (const o of others.values()) {
    const rel = o.batch !== 0 ? o.abs / o.batch : o.abs === 0 ? 0 : null;
    out.push({ day: o.day, app_id: OTHER_LABEL, metric: o.metric, abs_diff: o.any ? o.abs : null, rel_diff: o.any ? rel : null });
  }
  return out;
}
