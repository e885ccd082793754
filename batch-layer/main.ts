/**
 * The batch layer: recomputes exact views of whole UTC days from the master dataset
 * (jobs/recompute.ts), on a schedule (schedule.ts), on demand through the admin API
 * (admin-routes.ts) and the CLI (cli.ts). See README.md in this folder for the choices made.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import express, { type Router } from 'express';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { ClickHouseClient } from '../infra/clickhouse/client';
import type { Config } from '../infra/config';
import type { TopicIdOf } from '../infra/kafka/topic-id';
import type { Logger } from '../infra/logger';
import type { ObjectStore } from '../infra/object-store/object-store';
import { invalidCidrs } from '../schemas/cidr';
import { batchAdminRouter } from './admin-routes';
import { highWatermarks } from './archive-catch-up';
import { createBatchMetrics } from './batch-metrics';
import { createBatchRunner, type BatchRunner, type RequestOptions } from './batch-runner';
import type { RecomputeHooks } from './jobs/recompute';
import { createLease, type LeaseOptions } from '../infra/clickhouse/lease';
import { createRunStore, type RunStore } from './run-store';
import type { Run } from './run-types';
import { startBatchSchedule, type ScheduleHandle } from './schedule';

export type BatchConfig = Pick<Config, 'batch' | 'ipBlocklist' | 'lookbackDays' | 'dedupHorizonDays' | 'retention' | 'kafka'>;

export interface BatchDeps {
  ch: ClickHouseClient;
  store: ObjectStore;
  kafka: Kafka;
  /** The topic id lookup (Kafka's topic UUID): a run refuses an archive written for another topic id. */
  topicIdOf: TopicIdOf;
  registry: Registry;
  log: Logger;
  /** Run the nightly schedule and the start-up catch-up (false: on-demand runs only). */
  schedule: boolean;
  /** Required for the admin routes; without it the router is empty. */
  adminToken?: string;
  /** Tests: hooks into a run, and faster lease/catch-up timings. */
  hooks?: RecomputeHooks;
  lease?: Partial<LeaseOptions>;
  catchUpTimeoutMs?: number;
}

export interface BatchLayer {
  router: Router;
  runDay(day: string, opts?: RequestOptions): Promise<Run>;
  runner: BatchRunner;
  runs: RunStore;
  stop(): Promise<void>;
}

export async function startBatchLayer(cfg: BatchConfig, deps: BatchDeps): Promise<BatchLayer> {
  const bad = invalidCidrs(cfg.ipBlocklist);
  if (bad.length) throw new Error(`IP_BLOCKLIST has invalid CIDR(s): ${bad.join(', ')}`);
  const log = deps.log.child({ layer: 'batch' });
  const owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const runs = createRunStore(deps.ch);
  const runner = createBatchRunner(
    {
      recomputeDays: cfg.batch.recomputeDays,
      graceMinutes: cfg.batch.graceMinutes,
      ipBlocklist: cfg.ipBlocklist,
      lookbackDays: cfg.lookbackDays,
      horizonDays: cfg.dedupHorizonDays,
      retention: cfg.retention,
      catchUpTimeoutMs: deps.catchUpTimeoutMs,
    },
    {
      ch: deps.ch,
      store: deps.store,
      runs,
      lease: createLease(deps.ch, { holder: owner, ...deps.lease }),
      watermarks: () => highWatermarks(deps.kafka, cfg.kafka.topics.events),
      topicId: () => deps.topicIdOf(cfg.kafka.topics.events),
      owner,
      log,
      metrics: createBatchMetrics(deps.registry),
      hooks: deps.hooks,
    },
  );
  let schedule: ScheduleHandle | undefined;
  try {
    if (deps.schedule) schedule = await startBatchSchedule(cfg.batch, { runner, runs, log });
  } catch (err) {
    await runner.stop();
    throw err;
  }
  const router = deps.adminToken ? batchAdminRouter({ runner, runs, adminToken: deps.adminToken }) : express.Router();

  let stopped: Promise<void> | undefined;
  return {
    router,
    runDay: (day, opts) => runner.runDay(day, opts),
    runner,
    runs,
    stop: () =>
      (stopped ??= (async () => {
        await schedule?.stop();
        await runner.stop();
      })()),
  };
}
