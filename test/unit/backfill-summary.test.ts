/** `weir batch backfill`'s closing summary: its runs, what they read, the largest drift. */
import { backfillSummary } from '../../batch-layer/cli';
import type { Run } from '../../batch-layer/run-types';

/** Only what the summary reads. */
const run = (id: string, o: Partial<Run>): Run =>
  ({ id, days: ['2026-11-01'], status: 'succeeded', error: null, rows_read: 0, duplicates_dropped: 0, late_events: 0, input_files: 0, drift: null, ...o }) as Run;

it('sums what the runs read and picks the drift row with the largest relative difference', () => {
  const big = { day: '2026-11-02', app_id: 'a', metric: 'events', speed: 90, batch: 100, abs_diff: -10, rel_diff: -0.1 };
  const s = backfillSummary('2026-11-01', '2026-11-04', [
    run('r1', { rows_read: 10, late_events: 1, input_files: 2, drift: [{ ...big, metric: 'uv', rel_diff: 0.05 }, big] }),
    run('r2', { rows_read: 5, duplicates_dropped: 3, input_files: 1, drift: [{ ...big, speed: 'expired', abs_diff: null, rel_diff: null }] }),
  ]);
  expect(s).toMatchObject({ from: '2026-11-01', to: '2026-11-04', rows_read: 15, duplicates_dropped: 3, late_events: 1, input_files: 3, largest_drift: big });
  expect((s.runs as unknown[]).length).toBe(2);
  expect(backfillSummary('2026-11-01', '2026-11-01', [])).toMatchObject({ runs: [], rows_read: 0, largest_drift: null });
});
