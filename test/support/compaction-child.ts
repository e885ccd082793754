/**
 * Compacts one day of a file:// archive in a process of its own (its own chDB directory), and
 * kills itself with SIGKILL right after the step named by its fourth argument (`written`,
 * `renamed`, `deleted`, or `none` to finish). Used by archive-compaction.int.test.ts.
 *   node --import tsx test/support/compaction-child.ts <archive dir> <chdb dir> <day> <step>
 */
import { compactDay, type CompactionStep } from '../../batch-layer/jobs/compact-archive';
import { createClickHouse } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { createObjectStore } from '../../infra/object-store/object-store';

async function main(): Promise<void> {
  const [archiveDir, chDir, day, killAfter] = process.argv.slice(2);
  const handle = createClickHouse({ dataDir: chDir, clickhouse: { url: undefined, database: 'weir' } });
  // Compaction pins its files in a table (batch-layer/jobs/archive-source.ts).
  await migrate(handle.client);
  const store = createObjectStore(`file://${archiveDir}`);
  await compactDay(handle.client, store, day, {
    afterStep: async (step: CompactionStep) => {
      if (step === killAfter) process.kill(process.pid, 'SIGKILL');
    },
  });
  await handle.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
