/**
 * The ClickHouse HTTP harness as its own process (chDB binds one data directory per process,
 * and every weir role under test is a process of its own too):
 *   node --import tsx test/harness/main.ts <data dir> [port]
 * It prints `clickhouse harness listening at <url>` on stdout once it answers, and stops on
 * SIGTERM/SIGINT.
 */
import { startClickHouseHttpHarness } from './clickhouse-http-harness';

async function main(): Promise<void> {
  const [dataDir, port] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: test/harness/main.ts <data dir> [port]');
  const harness = await startClickHouseHttpHarness({ dataDir, port: port ? Number(port) : 0 });
  process.stdout.write(`clickhouse harness listening at ${harness.url}\n`);
  const stop = () => void harness.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`clickhouse harness failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
