/**
 * Accepts run requests, queues them and executes them one at a time:
 *   request: validate the day → refuse overlap with live runs → record the events topic's
 *            high watermarks → store the run as `queued`;
 *   execute: take the cross-process lease → `running` → drop what killed runs left → wait for
 *            the archive to reach the watermarks → compact the days' archive files → recompute (jobs/recompute.ts: pin the files
 *            the days need, stage, switch the views and the covered days together) → measure
 *            attribution diff and drift → `succeeded` (or `failed` with the reason).
 * The owner heart-beats its queued and running runs, so that other processes can tell a run
 * whose process died (run-store.ts) from one that is merely slow.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { AppError } from '../infra/errors';
import type { Logger } from '../infra/logger';
import type { ObjectStore } from '../infra/object-store/object-store';
import { waitForArchive, type Watermarks } from './archive-catch-up';
import type { BatchMetrics } from './batch-metrics';
import { FIRST_DAY, dayStartMs, daysOverlap, hasClosed, recomputeWindow } from './days';
import { diffAttributions, measureDrift } from './drift';
import { recomputeDays, type RecomputeHooks } from './jobs/recompute';
import { expireArchive } from './archive-retention';
import { compactDay } from './jobs/compact-archive';
import { expireSpeedDays } from './speed-retention';
import { dropLeftoverRunTables } from './jobs/view-generations';
import type { HeldLease, RunLease } from '../infra/clickhouse/lease';
import { publicRun, type RunStore } from './run-store';
import type { Run, RunRecord } from './run-types';

export interface BatchRunnerConfig {
  recomputeDays: number;
  graceMinutes: number;
  ipBlocklist: readonly string[];
  lookbackDays: number;
  /** DEDUP_HORIZON_DAYS: how far apart in receive time two copies of an event can be. */
  horizonDays: number;
  /** Speed views dropped this many days after coverage; archive days kept (undefined: forever). Default: 7, forever. */
  retention?: { speedDays: number; archiveDays: number | undefined };
  /** How long a run waits for the archive to catch up before it fails (default 5 min). */
  catchUpTimeoutMs?: number;
  heartbeatMs?: number;
}

export interface BatchRunnerDeps {
  ch: ClickHouseClient;
  store: ObjectStore;
  runs: RunStore;
  lease: RunLease;
  /** High watermarks of the events topic, now. */
  watermarks: () => Promise<Watermarks>;
  /** The events topic's id now (Kafka's topic UUID), which the archive's positions must belong to; unset: not checked (tests without Kafka). */
  topicId?: () => Promise<string>;
  /** Identifies this process in run records. */
  owner: string;
  log: Logger;
  metrics?: BatchMetrics;
  hooks?: RecomputeHooks;
  now?: () => number;
}

export interface RequestOptions {
  /** Recompute exactly these consecutive days instead of the window of `day` (backfill). */
  days?: string[];
}

export interface BatchRunner {
  /** Validates and queues a run; resolves with the queued run. Throws AppError 400 / 409. */
  request(day: string, opts?: RequestOptions): Promise<Run>;
  /** Resolves when a run this runner queued has finished (succeeded or failed). */
  whenDone(id: string): Promise<Run>;
  runDay(day: string, opts?: RequestOptions): Promise<Run>;
  stop(): Promise<void>;
}

export function createBatchRunner(cfg: BatchRunnerConfig, deps: BatchRunnerDeps): BatchRunner {
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const queue: RunRecord[] = [];
  const waiters = new Map<string, { promise: Promise<Run>; resolve: (r: Run) => void }>();
  const stopping = new AbortController();
  let current: RunRecord | undefined;
  let worker: Promise<void> | undefined;
  // Serialises request(): the overlap check and the insert of the queued row go together.
  let requestChain: Promise<unknown> = Promise.resolve();

  const heartbeat = setInterval(() => void beat().catch((err) => log.warn({ err }, 'batch run heartbeat failed')), cfg.heartbeatMs ?? 15_000);
  heartbeat.unref();

  async function beat(): Promise<void> {
    for (const rec of [...(current ? [current] : []), ...queue]) {
      rec.heartbeat_at = new Date(now()).toISOString();
      await deps.runs.save(rec);
    }
  }

  function request(day: string, opts: RequestOptions = {}): Promise<Run> {
    const next = requestChain.then(() => enqueue(day, opts));
    requestChain = next.catch(() => undefined);
    return next;
  }

  async function enqueue(day: string, opts: RequestOptions): Promise<Run> {
    if (stopping.signal.aborted) throw new AppError('unavailable', 'the batch layer is stopping');
    if (typeof day !== 'string' || dayStartMs(day) === undefined) throw new AppError('bad_request', `day must be a date YYYY-MM-DD from ${FIRST_DAY} on`);
    // No event is before 2000-01-01 (DESIGN.md section 3): such a day has nothing to recompute.
    if (day < FIRST_DAY) throw new AppError('bad_request', `day must be a date YYYY-MM-DD from ${FIRST_DAY} on (events before it are rejected); got ${day}`);
    const days = opts.days ?? recomputeWindow(day, cfg.recomputeDays).filter((d) => d >= FIRST_DAY);
    for (const d of days) {
      if (dayStartMs(d) === undefined || d < FIRST_DAY) throw new AppError('bad_request', `days must be dates YYYY-MM-DD from ${FIRST_DAY} on, got ${JSON.stringify(d)}`);
    }
    const last = days.reduce((a, b) => (a > b ? a : b), day);
    if (!hasClosed(last, now(), cfg.graceMinutes)) {
      throw new AppError('conflict', `day ${last} has not closed plus the ${cfg.graceMinutes}-minute grace period yet (UTC); try after it has`);
    }
    const clash = (await deps.runs.active()).find((r) => daysOverlap(r.days, days));
    if (clash) throw new AppError('conflict', `run ${clash.id} (${clash.status}) already covers ${clash.days.join(', ')}; overlapping runs are refused until it finishes`);
    let watermarks: Watermarks;
    try {
      watermarks = await deps.watermarks();
    } catch (err) {
      throw new AppError('unavailable', `cannot read the events topic's offsets from Kafka: ${(err as Error).message}`, { 'Retry-After': '10' }, { cause: err });
    }
    const at = new Date(now()).toISOString();
    const rec: RunRecord = {
      id: randomUUID(),
      day,
      days: [...days].sort(),
      status: 'queued',
      requested_at: at,
      started_at: null,
      finished_at: null,
      rows_read: 0,
      duplicates_dropped: 0,
      late_events: 0,
      input_files: 0,
      error: null,
      attribution_diff: null,
      drift: null,
      watermarks,
      owner: deps.owner,
      heartbeat_at: at,
    };
    await deps.runs.save(rec);
    let resolve!: (r: Run) => void;
    const promise = new Promise<Run>((r) => (resolve = r));
    waiters.set(rec.id, { promise, resolve });
    queue.push(rec);
    worker ??= drain().finally(() => (worker = undefined));
    log.info({ run: rec.id, day, days: rec.days }, 'batch run queued');
    return publicRun(rec);
  }

  async function drain(): Promise<void> {
    for (let rec = queue.shift(); rec; rec = queue.shift()) {
      current = rec;
      await execute(rec);
      current = undefined;
      waiters.get(rec.id)?.resolve(publicRun(rec));
      waiters.delete(rec.id);
    }
  }

  async function execute(rec: RunRecord): Promise<void> {
    const rlog = log.child({ run: rec.id, days: rec.days });
    let lease: HeldLease | undefined;
    const t0 = now();
    try {
      lease = await deps.lease.acquire(stopping.signal);
      rec.status = 'running';
      rec.started_at = new Date(now()).toISOString();
      await deps.runs.save(rec);
      rlog.info('batch run started');
      await dropLeftoverRunTables(deps.ch, rec.id);
      await waitForArchive(deps.store, rec.watermarks, { timeoutMs: cfg.catchUpTimeoutMs ?? 300_000, signal: stopping.signal, topicId: await deps.topicId?.() });
      // The run's days have closed: their small archive files become one per partition.
      for (const day of rec.days) {
        const c = await compactDay(deps.ch, deps.store, day);
        if (c.partitions > 0) rlog.info(c, 'archive day compacted');
      }
      const held = lease;
      const stats = await recomputeDays(
        deps.ch,
        deps.store,
        {
          runId: rec.id,
          days: rec.days,
          ipBlocklist: cfg.ipBlocklist,
          lookbackDays: cfg.lookbackDays,
          horizonDays: cfg.horizonDays,
          graceMinutes: cfg.graceMinutes,
          now: now(),
        },
        { beforeSwap: deps.hooks?.beforeSwap, stillHeld: () => held.stillHeld() },
      );
      // The views now show the run's days, and batch_covered_days names it for each of them.
      Object.assign(rec, stats);
      try {
        rec.attribution_diff = await diffAttributions(deps.ch, rec.days);
        rec.drift = await measureDrift(deps.ch, rec.days);
      } catch (err) {
        // The views are replaced and the days covered; a failed comparison must not undo that.
        rec.error = `views replaced, but measuring drift failed: ${(err as Error).message}`;
      }
      // Only now: the heartbeat saves the record meanwhile, and whoever sees `succeeded` must
      // find the diff and the drift with it (a run record read between the two had neither).
      rec.status = 'succeeded';
      rlog.info({ ...stats, ms: now() - t0 }, 'batch run succeeded');
      await applyRetention(rlog);
    } catch (err) {
      rec.status = 'failed';
      rec.error = stopping.signal.aborted && !rec.started_at ? 'the batch layer stopped before the run started' : (err as Error).message;
      rlog.error({ err }, 'batch run failed');
    } finally {
      rec.finished_at = new Date(now()).toISOString();
      rec.heartbeat_at = rec.finished_at;
      await deps.runs.save(rec).catch((err) => rlog.error({ err }, 'could not record the run'));
      await lease?.release().catch((err) => rlog.warn({ err }, 'could not release the batch lease'));
      deps.metrics?.runFinished(publicRun(rec), (now() - t0) / 1000);
      if (rec.status === 'succeeded') deps.metrics?.boundary((await deps.runs.boundary().catch(() => ({ boundary: null }))).boundary);
    }
  }

  /** Retention after a successful run, under its lease; a failure is logged and retried after the next run. */
  async function applyRetention(rlog: Logger): Promise<void> {
    try {
      const speedDays = await expireSpeedDays(deps.ch, cfg.retention?.speedDays ?? 7, now());
      if (speedDays.length) rlog.info({ days: speedDays }, 'speed views of days covered long enough ago dropped');
      if (cfg.retention?.archiveDays !== undefined) {
        const gone = await expireArchive(deps.store, cfg.retention.archiveDays, now());
        if (gone.days) rlog.info(gone, 'archive days past ARCHIVE_RETENTION_DAYS deleted');
      }
    } catch (err) {
      rlog.warn({ err }, 'retention failed; the next run tries again');
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    request,
    async whenDone(id) {
      const w = waiters.get(id);
      if (w) return w.promise;
      const rec = await deps.runs.get(id);
      if (!rec) throw new AppError('not_found', `no run ${id}`);
      return publicRun(rec);
    },
    async runDay(day, opts) {
      const run = await request(day, opts);
      return this.whenDone(run.id);
    },
    stop: () =>
      (stopped ??= (async () => {
        stopping.abort(new Error('the batch layer is stopping'));
        clearInterval(heartbeat);
        // Queued runs will not run here: record why, so their days are free again at once.
        for (const rec of queue.splice(0)) {
          rec.status = 'failed';
          rec.error = 'the batch layer stopped before the run started';
          rec.finished_at = new Date(now()).toISOString();
          await deps.runs.save(rec).catch(() => undefined);
          waiters.get(rec.id)?.resolve(publicRun(rec));
        }
        await worker; // a recompute in flight finishes (ClickHouse statements are not cancelled)
      })()),
  };
}
