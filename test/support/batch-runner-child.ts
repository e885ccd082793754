/**
 * One batch scheduler in a process of its own, on a ClickHouse server (the HTTP harness) and a
 * file:// archive, for batch-lease-sigstop.int.test.ts. It runs the days given, prints
 * `staged` once its run is staged and then waits 2 s before it touches the views, and finally the run as
 * JSON. Its lease lives 2 s (renewed every 0.7 s) so that a test can freeze it past expiry.
 *   node --import tsx test/support/batch-runner-child.ts <clickhouse url> <database> <archive dir> <owner> <day,day,…>
 */
import { pino } from 'pino';
import { createBatchRunner } from '../../batch-layer/batch-runner';
import { createRunStore } from '../../batch-layer/run-store';
import { createClickHouse } from '../../infra/clickhouse/client';
import { createLease } from '../../infra/clickhouse/lease';
import { createObjectStore } from '../../infra/object-store/object-store';

async function main(): Promise<void> {
  const [url, database, archiveDir, owner, daysArg] = process.argv.slice(2);
  const days = daysArg.split(',');
  const handle = createClickHouse({ dataDir: '/nonexistent', clickhouse: { url, database } });
  const runner = createBatchRunner(
    { recomputeDays: 2, graceMinutes: 15, ipBlocklist: [], lookbackDays: 7, horizonDays: 7, catchUpTimeoutMs: 5_000 },
    {
      ch: handle.client,
      store: createObjectStore(`file://${archiveDir}`),
      runs: createRunStore(handle.client),
      lease: createLease(handle.client, { holder: owner, ttlMs: 2_000, settleMs: 100, retryMs: 100 }),
      watermarks: async () => ({}),
      owner,
      log: pino({ level: 'silent' }),
      // A pause after `staged`, so that a test's SIGSTOP lands before the run touches the views.
      hooks: { beforeSwap: () => new Promise<void>((resolve) => process.stdout.write('staged\n', () => setTimeout(resolve, 2_000))) },
    },
  );
  const run = await runner.runDay(days[days.length - 1], { days });
  process.stdout.write(`${JSON.stringify(run)}\n`);
  await runner.stop();
  await handle.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
