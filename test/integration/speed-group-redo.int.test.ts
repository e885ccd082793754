/**
 * The speed layer's flush groups after a crash at any step (speed-layer/group-commit.ts). A
 * crash before the group's intent is recorded abandons it: nothing is counted and the position
 * stays (its events come again from Kafka). After the intent, its staged rows and decisions
 * are durable, so restoring any partition of the group completes it, under the same tokens:
 * every target (events_rt, the state tables, attributions_rt, the views, the position) ends
 * holding the group once, whatever the crash left behind. Run on real chDB; the Kafka sends
 * are collected, not sent.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { createClickHouse, queryRows, type ClickHouseClient, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { appRuleParams } from '../../rules/app-rules';
import { createGroupCommit, PartitionsLostError, redoUnapplied, type GroupCommitDeps, type StreamDecision } from '../../speed-layer/group-commit';
import { claimPartition, newClaim, type Claim } from '../../speed-layer/partition-owners';
import { PartitionProcessor } from '../../speed-layer/partition-processor';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';
import { storedEvents } from '../support/speed-fixture';

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
  mkdirSync(path.join(dir, 'staging'));
  generatedUntil = Date.now();
  realtimeSince = Math.floor(generatedUntil / 1000) - 2 * 3600;
});

afterEach(async () => {
  await handle.close();
  removeScratchDir(dir);
});

const TOPIC_ID = 'speed-group-redo-topic';

/** A member: its claim of partitions 0 and 1, and its group commit's dependencies over `client` and `pool`. */
async function member(client: ClickHouseClient = handle.client, pool?: readonly ClickHouseClient[], extra: Partial<GroupCommitDeps> = {}): Promise<{ deps: GroupCommitDeps; sent: StreamDecision[] }> {
  const claim: Claim = newClaim();
  for (const p of [0, 1]) await claimPartition(handle.client, claim, p);
  const sent: StreamDecision[] = [];
  const deps: GroupCommitDeps = {
    ch: client,
    pool,
    sendUndecodable: async () => {},
    sendDecisions: async (d) => void sent.push(...d),
    ruleParams: async () => appRuleParams([], { lookbackDays: 7, ipBlocklist: [] }),
    claimOf: () => claim,
    stagingDir: path.join(dir, 'staging'),
    ...extra,
  };
  return { deps, sent };
}

/** Two partitions' batches of generated events (over two days), written as one group. */
async function writeOneGroup(deps: GroupCommitDeps): Promise<number> {
  const events = storedEvents(11, 2000, undefined, generatedUntil);
  const half = Math.floor(events.length / 2);
  const messages = (list: typeof events): KafkaMessage[] => list.map((e, i) => ({ offset: String(i), value: Buffer.from(JSON.stringify(e)) }) as KafkaMessage);
  const groups = createGroupCommit(deps);
  const batches = [new PartitionProcessor(0), new PartitionProcessor(1)].map((p, i) => ({ partition: p.partition, first: p.viewsFrom, out: p.process(messages(i === 0 ? events.slice(0, half) : events.slice(half))) }));
  await Promise.all(batches.map((b) => groups.submit(b)));
  const groupsWritten = await queryRows<{ n: string }>(handle.client, 'SELECT count() AS n FROM speed_flush_groups');
  expect(Number(groupsWritten[0].n)).toBe(1); // both partitions in one group
  return batches.reduce((n, b) => n + b.out.rows.count, 0);
}

/** What each target holds. */
async function totals(): Promise<Record<string, number>> {
  const [t] = await queryRows<Record<string, string>>(
    handle.client,
    `SELECT (SELECT count() FROM events_rt) AS events_rt, (SELECT sum(events) FROM hourly_rt) AS hourly,
            (SELECT sum(events) FROM realtime_rt WHERE second >= toDateTime({since:UInt32})) AS realtime,
            (SELECT uniqExactMerge(uv) FROM hourly_rt) AS uv,
            (SELECT countIf(install_kind IN ('attributed', 'organic', 'rejected')) FROM events_rt) AS first_install_rows,
            (SELECT count() FROM speed_first_installs) AS first_installs,
            (SELECT count() FROM speed_device_clicks) AS device_clicks,
            (SELECT count() FROM attributions_rt) AS attributions,
            (SELECT count() FROM clicks_by_ip_ua_rt) AS ip_clicks,
            (SELECT sum(count) FROM errors_rt) AS errors`,
    { since: realtimeSince },
  );
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Number(v)]));
}

/** Restores partition `p` as a new member would: its own claim, the position read, the interrupted group completed. */
async function restore(p: number, deps: GroupCommitDeps): Promise<void> {
  await new PartitionProcessor(p).restore(handle.client, TOPIC_ID, (position) => redoUnapplied(deps, p, position));
}

/** `client` whose statements fail once when their SQL starts with `marker` (the crash), and which runs nothing after that. */
function crashingAt(client: ClickHouseClient, marker: string, state: { crashed: boolean }): ClickHouseClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'command' && prop !== 'insert') return Reflect.get(target, prop, receiver);
      return (params: { query?: string; table?: string }) => {
        const sql = params.query ?? `INSERT INTO ${params.table} `;
        if (state.crashed || sql.trimStart().startsWith(marker)) {
          state.crashed = true;
          return Promise.reject(new Error(`crashed at ${marker}`));
        }
        return (target[prop] as (p: unknown) => Promise<unknown>)(params);
      };
    },
  });
}

// Every write of a group, in the order it is written: a crash just before each. Before the
// intent (speed_flush_groups) the group is abandoned; after it, completed.
const ABANDONED_AT = ['INSERT INTO events_rt_incoming', 'INSERT INTO speed_decisions', 'INSERT INTO speed_flush_groups'];
const COMPLETED_AT = [
  'INSERT INTO events_rt ',
  'INSERT INTO speed_first_installs',
  'INSERT INTO speed_device_clicks',
  'INSERT INTO attributions_rt',
  'INSERT INTO hourly_rt',
  'INSERT INTO realtime_rt',
  'INSERT INTO errors_rt',
  'INSERT INTO speed_progress',
];

describe('a group interrupted at any step is completed, once, by the next owner of any of its partitions', () => {
  let complete: Record<string, number>;
  let completeDecisions: number;
  beforeEach(async () => {
    // The reference: the same group written without a crash, on this fresh database.
    const { deps, sent } = await member(handle.client, handle.concurrent(3));
    const rows = await writeOneGroup(deps);
    complete = await totals();
    completeDecisions = sent.length;
    expect(complete).toMatchObject({ events_rt: rows, hourly: rows });
    expect(complete.first_installs).toBeGreaterThan(0);
    expect(complete.first_installs).toBe(complete.attributions);
    expect(complete.realtime).toBeGreaterThan(0); // the last 2 hours: realtime_rt drops what is 3 hours old (TTL)
    // Start over: truncating also forgets the deduplication tokens.
    for (const t of ['speed_staged', 'speed_decisions', 'speed_first_installs', 'speed_device_clicks', 'speed_flush_groups', 'speed_progress', 'speed_owners', 'events_rt', 'attributions_rt', 'clicks_by_ip_ua_rt', 'hourly_rt', 'realtime_rt', 'errors_rt']) {
      await handle.client.command({ query: `TRUNCATE TABLE ${t}` });
    }
  });

  it.each(COMPLETED_AT.map((s) => [s]))('crash before %s', async (marker) => {
    const state = { crashed: false };
    const crashing = crashingAt(handle.client, marker, state);
    const { deps } = await member(crashing, handle.concurrent(3).map((c) => crashingAt(c, marker, state)));
    await expect(writeOneGroup(deps)).rejects.toThrow(`crashed at ${marker}`);
    // A new member takes partition 1 and restores it: the group is completed, whole.
    const next = await member();
    await restore(1, next.deps);
    expect(await totals()).toEqual(complete);
    expect(next.sent.length).toBe(completeDecisions); // its decisions sent again (at least once)
    // Partition 0 restored afterwards finds its range applied: nothing is added.
    await restore(0, (await member()).deps);
    expect(await totals()).toEqual(complete);
  });

  it('counts a group once when everything got it but the position did not (a crash after the views)', async () => {
    const { deps } = await member(handle.client, handle.concurrent(3));
    await writeOneGroup(deps);
    await handle.client.command({ query: 'TRUNCATE TABLE speed_progress' });
    await restore(0, (await member()).deps);
    await restore(1, (await member()).deps);
    expect(await totals()).toEqual(complete);
  });

  it.each(ABANDONED_AT.map((s) => [s]))('abandons a group that crashed before %s: nothing is counted, the position stays', async (marker) => {
    const state = { crashed: false };
    const { deps } = await member(crashingAt(handle.client, marker, state));
    await expect(writeOneGroup(deps)).rejects.toThrow('crashed');
    const next = await member();
    await restore(0, next.deps);
    await restore(1, next.deps);
    expect(await totals()).toMatchObject({ events_rt: 0, hourly: 0, first_installs: 0, attributions: 0, device_clicks: 0 });
    expect(await queryRows(handle.client, 'SELECT * FROM speed_progress')).toEqual([]);
    expect(next.sent).toEqual([]);
    // Fetched again and decided again, the same events give the complete group's figures.
    await writeOneGroup((await member(handle.client, handle.concurrent(3))).deps);
    expect(await totals()).toEqual(complete);
  });
});

it('writes nothing and leaves no staged file when the DLQ cannot be sent', async () => {
  const staging = path.join(dir, 'staging');
  const { deps } = await member(handle.client, undefined, { sendUndecodable: () => Promise.reject(new Error('broker down')) });
  const groups = createGroupCommit(deps);
  const p = new PartitionProcessor(0);
  const out = p.process(storedEvents(12, 500).map((e, i) => ({ offset: String(i), value: Buffer.from(JSON.stringify(e)) }) as KafkaMessage));
  await expect(groups.submit({ partition: 0, first: p.viewsFrom, out })).rejects.toThrow('broker down');
  expect(await totals()).toMatchObject({ events_rt: 0, hourly: 0 });
  expect(readdirSync(staging)).toEqual([]);
});

it('adds nothing from a member whose claim was superseded (fenced, and it says so), and the new owner completes its group', async () => {
  const old = await member(handle.client, handle.concurrent(3));
  // Another member claims the partitions: every write of the old member's group is fenced.
  const next = await member();
  await expect(writeOneGroup(old.deps)).rejects.toThrow(PartitionsLostError);
  expect(await totals()).toMatchObject({ events_rt: 0, hourly: 0, first_installs: 0, attributions: 0 });
  expect(old.sent).toEqual([]);
  await restore(0, next.deps);
  const after = await totals();
  expect(after.events_rt).toBeGreaterThan(0);
  expect(after.hourly).toBe(after.events_rt);
});
