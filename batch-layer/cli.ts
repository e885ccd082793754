/**
 * `weir batch run --day D | backfill --from A --to B | status`: runs in this process against
 * the configured stores (CLICKHOUSE_URL or the embedded chDB in DATA_DIR, OBJECT_STORE_URL,
 * KAFKA_BROKERS or the local broker `weir kafka start` runs in DATA_DIR). The embedded chDB
 * binds its directory to one process: with a `weir start` running on the same DATA_DIR, use
 * its admin API (POST /v1/admin/batch/runs) instead.
 *
 * Backfill runs consecutive chunks of up to RECOMPUTE_DAYS + 1 days (one scan of the dataset
 * per chunk). It is resumable: `--resume-after <ISO time>` skips chunks whose days were all
 * covered by runs finished after that time; an interrupted backfill prints the command that
 * resumes it (with its own start time).
 */
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { createClickHouse, type ClickHouseHandle } from '../infra/clickhouse/client';
import { migrate } from '../infra/clickhouse/migrate';
import { loadConfig, type Config } from '../infra/config';
import { createKafka, readBrokerInfo } from '../infra/kafka/local-broker';
import { createTopicIdLookup } from '../infra/kafka/topic-id';
import { UsageError } from '../infra/errors';
import { createLogger } from '../infra/logger';
import { createObjectStore } from '../infra/object-store/object-store';
import { dayRange, requireDay } from './days';
import { startBatchLayer, type BatchLayer } from './main';
import { createRunStore, publicRun } from './run-store';
import type { Run } from './run-types';

/**
 * The configured ClickHouse, migrated. The embedded chDB binds DATA_DIR to one process: when a
 * `weir start` holds it, say so and what to use instead, rather than chDB's lock error.
 */
async function openClickHouse(cfg: Config): Promise<ClickHouseHandle> {
  let ch: ClickHouseHandle | undefined;
  try {
    ch = createClickHouse(cfg);
    await ch.ensureDatabase();
    await migrate(ch.client, { lock: ch.kind === 'server' });
    return ch;
  } catch (err) {
    await ch?.close().catch(() => undefined);
    if (!cfg.clickhouse.url && /Cannot lock file|Another server instance|Failed to create connection/i.test((err as Error).message)) {
      throw new UsageError(
        `another weir process (\`weir start\`) holds the embedded ClickHouse in ${cfg.dataDir}; while it runs, use its admin API: ` +
          `POST /v1/admin/batch/runs {"day":"YYYY-MM-DD"}, GET /v1/admin/batch/runs, GET /v1/admin/boundary (with the admin token it printed), ` +
          `or stop it first`,
        { cause: err },
      );
    }
    throw err;
  }
}

async function withBatchLayer<T>(fn: (batch: BatchLayer, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = loadConfig();
  const log = createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel);
  const brokers = cfg.kafka.brokers ?? (await readBrokerInfo(path.join(cfg.dataDir, 'kafka')))?.brokers;
  if (!brokers) throw new Error('no Kafka: set KAFKA_BROKERS, or start the local broker with `weir kafka start`');
  const ch = await openClickHouse(cfg);
  try {
    const store = createObjectStore(cfg.objectStore.url, cfg.objectStore.s3);
    const kafka = createKafka(brokers, 'weir-batch-cli', { logger: log, security: cfg.kafka.security });
    const topicIdOf = createTopicIdLookup(brokers, cfg.kafka.security);
    const batch = await startBatchLayer(cfg, { ch: ch.client, store, kafka, topicIdOf, registry: new Registry(), log, schedule: false });
    try {
      return await fn(batch, cfg);
    } finally {
      await batch.stop();
    }
  } finally {
    await ch.close();
  }
}

const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

function checkedDay(v: string): string {
  requireDay(v);
  return v;
}

export function registerBatchCommand(program: Command): Command {
  const batch = program.command('batch').description('batch recomputation of exact views (DESIGN.md section 5)');

  batch
    .command('run')
    .description('recompute day D and the RECOMPUTE_DAYS days before it, and wait for the run')
    .requiredOption('--day <YYYY-MM-DD>', 'UTC day', checkedDay)
    .action(async (o: { day: string }) => {
      const run = await withBatchLayer((b) => b.runDay(o.day));
      print(run);
      if (run.status !== 'succeeded') process.exitCode = 1;
    });

  batch
    .command('backfill')
    .description('recompute every day from A to B (e.g. to take in late events older than the window)')
    .requiredOption('--from <YYYY-MM-DD>', 'first UTC day', checkedDay)
    .requiredOption('--to <YYYY-MM-DD>', 'last UTC day', checkedDay)
    .option('--resume-after <ISO time>', 'skip chunks whose days were all covered by runs finished after this time')
    .action(async (o: { from: string; to: string; resumeAfter?: string }) => {
      const startedAt = new Date().toISOString();
      const resumeAfter = o.resumeAfter === undefined ? undefined : Date.parse(o.resumeAfter);
      if (resumeAfter !== undefined && !Number.isFinite(resumeAfter)) throw new Error(`--resume-after must be an ISO-8601 time, got ${o.resumeAfter}`);
      const days = dayRange(o.from, o.to);
      if (days.length === 0) throw new Error('--to must not be before --from');
      const runs: Run[] = [];
      const failed = await withBatchLayer(async (b, cfg) => {
        const covered = await b.runs.coveredAt();
        const size = cfg.batch.recomputeDays + 1;
        // The bar draws on a terminal only; elsewhere (a log, CI) each chunk gets a line.
        const tty = process.stderr.isTTY === true;
        const bar = new SingleBar({ format: 'backfill [{bar}] {value}/{total} days | {status}' }, Presets.shades_classic);
        if (tty) bar.start(days.length, 0, { status: 'starting' });
        try {
          for (let i = 0; i < days.length; i += size) {
            const chunk = days.slice(i, i + size);
            const done = resumeAfter !== undefined && chunk.every((d) => (covered.get(d) ?? 0) > resumeAfter);
            if (!done) {
              const run = await b.runDay(chunk[chunk.length - 1], { days: chunk });
              runs.push(run);
              if (run.status !== 'succeeded') return { chunk, run };
            }
            const status = `${done ? 'skipped' : 'covered'} ${chunk[0]} … ${chunk[chunk.length - 1]}`;
            if (tty) bar.increment(chunk.length, { status });
            else process.stderr.write(`backfill ${Math.min(i + size, days.length)}/${days.length} days: ${status}\n`);
          }
          return undefined;
        } finally {
          if (tty) bar.stop();
        }
      });
      print(backfillSummary(o.from, o.to, runs));
      if (failed) {
        print(failed.run);
        process.stderr.write(`backfill stopped at ${failed.chunk[0]}; resume with: weir batch backfill --from ${o.from} --to ${o.to} --resume-after ${startedAt}\n`);
        process.exitCode = 1;
      }
    });

  batch
    .command('status')
    .description('boundary, covered days and the latest runs')
    .option('--limit <n>', 'runs to show', (v) => Number(v), 10)
    .action(async (o: { limit: number }) => {
      // It only reads the run records: no Kafka, no object store.
      const ch = await openClickHouse(loadConfig());
      try {
        const runs = createRunStore(ch.client);
        print({ ...(await runs.boundary()), runs: (await runs.list(o.limit)).map(publicRun) });
      } finally {
        await ch.close();
      }
    });

  return batch;
}

/** What a backfill did: its runs, what they read, and the largest drift they measured. */
export function backfillSummary(from: string, to: string, runs: readonly Run[]): Record<string, unknown> {
  const sum = (k: 'rows_read' | 'duplicates_dropped' | 'late_events' | 'input_files') => runs.reduce((n, r) => n + r[k], 0);
  const drift = runs.flatMap((r) => r.drift ?? []).filter((d) => typeof d.rel_diff === 'number');
  const worst = drift.sort((a, b) => Math.abs(b.rel_diff as number) - Math.abs(a.rel_diff as number))[0];
  return {
    from,
    to,
    runs: runs.map((r) => ({ id: r.id, days: r.days, status: r.status, error: r.error })),
    rows_read: sum('rows_read'),
    duplicates_dropped: sum('duplicates_dropped'),
    late_events: sum('late_events'),
    input_files: sum('input_files'),
    largest_drift: worst ?? null,
  };
}
