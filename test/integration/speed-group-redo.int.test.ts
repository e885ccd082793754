/**
 * The speed layer's flush groups after a crash between writing a group's rows and finishing
 * its views (speed-layer/group-commit.ts): restoring any partition of the group applies the
 * whole group, once, whatever the views had already received. Run on real chDB; the Kafka
 * sends of a group are not what this is about, so `publish` does nothing here.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { createClickHouse, queryRows, type ClickHouseClient, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { CidrSet } from '../../schemas/cidr';
import { DAY_MS } from '../../speed-layer/attribution/attribution-state';
import { createGroupCommit } from '../../speed-layer/group-commit';
import { PartitionProcessor } from '../../speed-layer/partition-processor';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';
import { storedEvents } from '../support/speed-fixture';

const rules = () => ({ lookbackMs: 7 * DAY_MS, blocklist: new CidrSet([]), globalBlocklist: new CidrSet([]) });
const processor = (partition: number) => new PartitionProcessor(partition, rules, () => 7 * DAY_MS);

let dir: string;
let handle: ClickHouseHandle;
/** realtime_rt is summed from one fixed instant, so a second passing between two readings moves nothing. */
let realtimeSince: number;
/** The events are generated up to one fixed instant per test, so that a group written twice holds the same events. */
let generatedUntil: number;

beforeEach(async () => {
  dir = makeScratchDir('weir-speed-group-redo');
  handle = createClickHouse({ dataDir: dir, clickhouse: { url: undefined, database: 'weir' } });
  await migrate(handle.client);
  generatedUntil = Date.now();
  realtimeSince = Math.floor(generatedUntil / 1000) - 2 * 3600;
});

afterEach(async () => {
  await handle.close();
  removeScratchDir(dir);
});

/**
 * Two partitions' batches of generated events (over two days), written as one group. `pool`:
 * the clients of its view inserts.
 */
async function writeOneGroup(pool: readonly ClickHouseClient[] = handle.concurrent(3)): Promise<number> {
  const events = storedEvents(11, 2000, undefined, generatedUntil);
  const half = Math.floor(events.length / 2);
  const messages = (list: typeof events): KafkaMessage[] => list.map((e, i) => ({ offset: String(i), value: Buffer.from(JSON.stringify(e)) }) as KafkaMessage);
  // The view inserts side by side, as `weir start` writes them; the redo writes them one by one.
  const groups = createGroupCommit({ ch: handle.client, publish: async () => {}, pool });
  const batches = [processor(0), processor(1)].map((p, i) => ({ partition: p.partition, first: p.viewsFrom, out: p.process(messages(i === 0 ? events.slice(0, half) : events.slice(half)), Date.now()) }));
  await Promise.all(batches.map((b) => groups.submit(b)));
  const groupsWritten = await queryRows<{ n: string }>(handle.client, 'SELECT count() AS n FROM speed_flush_groups');
  expect(Number(groupsWritten[0].n)).toBe(1); // both partitions in one group
  return batches.reduce((n, b) => n + b.out.rows.count, 0);
}

async function viewTotals(): Promise<{ raw: number; hourly: number; realtime: number; uv: number }> {
  const [t] = await queryRows<{ raw: string; hourly: string; realtime: string; uv: string }>(
    handle.client,
    `SELECT (SELECT count() FROM events_rt) AS raw, (SELECT sum(events) FROM hourly_rt) AS hourly,
            (SELECT sum(events) FROM realtime_rt WHERE second >= toDateTime({since:UInt32})) AS realtime,
            (SELECT uniqExactMerge(uv) FROM hourly_rt) AS uv`,
    { since: realtimeSince },
  );
  return { raw: Number(t.raw), hourly: Number(t.hourly), realtime: Number(t.realtime), uv: Number(t.uv) };
}

async function restore(partition: number): Promise<void> {
  // No topic: the processors are driven directly, and one made-up id stands for it throughout.
  await processor(partition).restore(handle.client, 'speed-group-redo-topic');
}

it('applies a group whose views were never written when one of its partitions is restored', async () => {
  const rows = await writeOneGroup();
  const complete = await viewTotals();
  expect(complete).toMatchObject({ raw: rows, hourly: rows });
  expect(complete.realtime).toBeGreaterThan(0); // the last 2 hours: realtime_rt drops what is 3 hours old (TTL)

  // The crash came after the rows: empty the views and the progress, as if they never got there.
  for (const t of ['hourly_rt', 'realtime_rt', 'errors_rt', 'clicks_by_ip_ua_rt', 'speed_progress']) await handle.client.command({ query: `TRUNCATE TABLE ${t}` });
  // (Truncating also forgot the deduplication tokens, so the redo is not deduplicated away.)
  await restore(1);
  expect(await viewTotals()).toEqual(complete);
  const progress = await queryRows<{ kafka_partition: number; through: string }>(handle.client, 'SELECT kafka_partition, max(views_through) AS through FROM speed_progress GROUP BY kafka_partition ORDER BY kafka_partition');
  expect(progress.map((p) => p.kafka_partition)).toEqual([0, 1]);

  // The other partition restored afterwards finds its range applied: nothing is added.
  await restore(0);
  expect(await viewTotals()).toEqual(complete);
});

it('counts a group once when the views got it but the progress did not', async () => {
  await writeOneGroup();
  const complete = await viewTotals();
  await handle.client.command({ query: 'TRUNCATE TABLE speed_progress' });
  await restore(0);
  await restore(1);
  expect(await viewTotals()).toEqual(complete);
});

it('fails a group whose view insert fails (the others side by side), and restoring applies it whole', async () => {
  await writeOneGroup();
  const complete = await viewTotals();
  for (const t of ['events_rt', 'speed_flush_groups', 'hourly_rt', 'realtime_rt', 'errors_rt', 'clicks_by_ip_ua_rt', 'speed_progress']) await handle.client.command({ query: `TRUNCATE TABLE ${t}` });

  // The pool refuses the group's first realtime_rt insert, whichever of its clients takes it
  // (each free client takes the next statement).
  let refused = 0;
  const refusing = (client: ClickHouseClient) =>
    new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'command') return Reflect.get(target, prop, receiver);
        return (params: { query: string }) => {
          if (params.query.includes('INSERT INTO realtime_rt') && refused++ === 0) return Promise.reject(new Error('refused'));
          return target.command(params as never);
        };
      },
    });
  await expect(writeOneGroup(handle.concurrent(3).map(refusing))).rejects.toThrow('refused');
  // The rows are written, the progress did not move: restoring applies the group to every view.
  expect(await queryRows(handle.client, 'SELECT * FROM speed_progress')).toEqual([]);
  await restore(0);
  expect(await viewTotals()).toEqual(complete);
});

it('writes no rows and leaves no staged file when the decisions cannot be sent', async () => {
  const staging = path.join(dir, 'staging');
  mkdirSync(staging);
  const groups = createGroupCommit({ ch: handle.client, publish: () => Promise.reject(new Error('broker down')), stagingDir: staging });
  const p = processor(0);
  const out = p.process(
    storedEvents(12, 500).map((e, i) => ({ offset: String(i), value: Buffer.from(JSON.stringify(e)) }) as KafkaMessage),
    Date.now(),
  );
  expect(out.attributions.length).toBeGreaterThan(0);
  await expect(groups.submit({ partition: 0, first: p.viewsFrom, out })).rejects.toThrow('broker down');
  expect(await viewTotals()).toMatchObject({ raw: 0, hourly: 0 });
  expect(readdirSync(staging)).toEqual([]);
});
