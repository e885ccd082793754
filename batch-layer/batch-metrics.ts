/** Prometheus metrics of the batch layer, on the process registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
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
  // Labelled by the days of the last succeeded run only (reset per run): bounded cardinality.
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
    for (const r of rowsOfRun) {
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
