/**
 * The nightly run (BATCH_CRON, UTC) for the latest day that has closed plus grace, and at
 * start-up the runs missed while no batch process was up (days after the boundary that
 * have closed). Requests go through the runner, so overlapping requests from several
 * schedulers are refused (409) or, if they race, serialised by the run lease.
 */
import cron from 'node-cron';
import { AppError } from '../infra/errors';
import type { Logger } from '../infra/logger';
import type { BatchRunner } from './batch-runner';
import { catchUpRunDays, latestClosedDay } from './days';
import type { RunStore } from './run-store';

export interface ScheduleConfig {
  cron: string;
  graceMinutes: number;
  recomputeDays: number;
}

export interface ScheduleHandle {
  stop(): Promise<void>;
}

export async function startBatchSchedule(
  cfg: ScheduleConfig,
  deps: { runner: BatchRunner; runs: RunStore; log: Logger; now?: () => number },
): Promise<ScheduleHandle> {
  if (!cron.validate(cfg.cron)) throw new Error(`BATCH_CRON is not a valid cron expression: ${JSON.stringify(cfg.cron)}`);
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'batch-schedule' });

  const requestRun = async (day: string, why: string) => {
    try {
      const run = await deps.runner.request(day);
      log.info({ run: run.id, day, why }, 'batch run requested');
    } catch (err) {
      // Another scheduler (or an admin) got there first, or the day is still open: not an error.
      if (err instanceof AppError && err.code === 'conflict') log.info({ day, why, reason: err.message }, 'batch run not requested');
      else log.error({ err, day, why }, 'batch run request failed');
    }
  };

  const covered = await deps.runs.coveredDays();
  const latestCovered = covered.length ? covered[covered.length - 1] : undefined;
  for (const day of catchUpRunDays(latestCovered, latestClosedDay(now(), cfg.graceMinutes), cfg.recomputeDays)) {
    await requestRun(day, 'catch-up');
  }

  const task = cron.schedule(cfg.cron, () => requestRun(latestClosedDay(now(), cfg.graceMinutes), 'schedule'), {
    timezone: 'UTC',
    name: 'weir-batch',
    noOverlap: true,
  });
  let stopped: Promise<void> | undefined;
  return { stop: () => (stopped ??= Promise.resolve(task.destroy()).then(() => undefined)) };
}
