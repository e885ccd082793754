/**
 * Fencing of the speed layer (issue 16, item 4): a member whose session lapsed cannot add rows;
 * its late writes are never counted. Black-box, on the server path: two `weir start --role
 * speed` processes of one consumer group against the ClickHouse HTTP harness (test/harness),
 * member A through a gate of the harness (request-gate.ts) that holds one of its writes. The
 * harness is the test's own, in the test process (a gate is its in-process API), also under
 * `npm run test:server`, whose shared harness process has none.
 *
 * 1. A writes the first events. Then the gate holds A's first write matching the case's rule (HOLDS),
 *    unexecuted, and A is frozen (SIGSTOP) in the middle of that flush group.
 * 2. B starts, the group drops A after its session timeout (10 s, SPEED_FETCH.sessionTimeout),
 *    B takes every partition and writes everything produced so far, the held range included:
 *    the views count each event once.
 * 3. The held statement is released and runs now, after B's: a stale write. A is continued
 *    (SIGCONT), finishes its flush group as it would, and finds it lost the group.
 * 4. More events; once the group (B, and A if it rejoined) has written them all, the views
 *    count every produced event exactly once. events_rt may hold a stale copy of a row; no
 *    view may count it.
 *
 * Counted against the events on the topic (test/reference for dedup and first installs):
 * hourly_rt events by app and type and its first installs, realtime_rt by app (inside its
 * 3-hour TTL; its first installs against the distinct first-install rows of events_rt),
 * attributions_rt's first installs (FINAL: a ReplacingMergeTree by install).
 */
import { createClickHouse, queryRows, type ClickHouseClient, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { loadConfig } from '../../infra/config';
import { createKafka, ensureTopics } from '../../infra/kafka/local-broker';
import { topicNames } from '../../schemas/topics';
import { startClickHouseHttpHarness, type ClickHouseHttpHarness } from '../harness/clickhouse-http-harness';
import type { HeldAnswer, HeldRequest, HoldRule } from '../harness/request-gate';
import { buildReferenceModel } from '../reference/reports';
import { testBrokers } from '../setup/test-broker';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';
import { groupCaughtUp, groupProgress, produce, storedEvents } from '../support/speed-fixture';
import { testEnv, topicEvents } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';

jest.setTimeout(180_000);

/**
 * The statements of member A's that are held, one per case: the first request of A's whose SQL
 * matches `sql` (and, if set, whose INSERT data, sent after a query in the URL, matches `data`).
 * Only A's requests go through the gate: A's CLICKHOUSE_URL is the gate's address, B's the
 * harness's own.
 *
 * A flush group (speed-layer/group-commit.ts) stages its rows, decides its first installs
 * (INSERT … SELECT into speed_decisions), sends them, records its intent, then writes every
 * target with an INSERT … SELECT (events_rt, the state tables, the views, speed_progress),
 * each fenced by the member's claim of its partitions (speed-layer/partition-owners.ts).
 * - The events_rt insert held: the stale write that would count the range twice (B writes the
 *   range itself, and A, continued, would apply its own group to the views).
 * - The decision held: a stale decision over state B has moved on; A's group then writes
 *   nothing and A finds it lost the partitions.
 */
const HOLDS: { name: string; rule: HoldRule }[] = [
  { name: "its rows' insert into events_rt", rule: { sql: /^\s*INSERT INTO events_rt\b/ } },
  { name: 'its decisions (speed_decisions)', rule: { sql: /^\s*INSERT INTO speed_decisions\b/ } },
];

const PARTITIONS = 2;
const APPS = ['fence-a', 'fence-b'];
const HOUR_MS = 3_600_000;
/** realtime_rt keeps 3 hours (TTL): it is compared from here on. */
const NOW = Date.now();
const REALTIME_FROM_S = Math.floor((NOW - 2.5 * HOUR_MS) / 1000);

describe('speed layer fencing', () => {
  // Each case with topics, a group and a database of its own.
  const cases = HOLDS.map((hold) => {
    const { env, dataDir, prefix } = testEnv({ KAFKA_EVENTS_PARTITIONS: String(PARTITIONS) });
    return { ...hold, env: { ...env, CLICKHOUSE_DATABASE: `weir_fence_${prefix.slice(1, -1)}` }, dataDir, prefix };
  });
  const harnessDir = makeScratchDir('weir-fence-clickhouse');
  let harness: ClickHouseHttpHarness;
  const stores = new Map<string, ClickHouseHandle>();
  const members: WeirProcess[] = [];

  beforeAll(async () => {
    harness = await startClickHouseHttpHarness({ dataDir: harnessDir });
    // The cases' databases migrated side by side (10-15 s each through the harness, one after
    // the other at each first member's start): the members then find them up to date.
    await Promise.all(
      cases.map(async (c) => {
        const store = createClickHouse(loadConfig({ ...c.env, CLICKHOUSE_URL: harness.url }));
        stores.set(c.prefix, store);
        await store.ensureDatabase();
        await migrate(store.client, { lock: true });
      }),
    );
  });

  // A case's members end with it (a frozen one is continued first, or SIGKILL would wait for it).
  afterEach(async () => {
    const ending = members.splice(0);
    for (const p of ending) p.child.kill('SIGCONT');
    await Promise.all(ending.map((p) => p.stop('SIGKILL')));
  });

  afterAll(async () => {
    await Promise.all([...stores.values()].map((s) => s.close()));
    await harness?.stop();
    [harnessDir, ...cases.map((c) => c.dataDir)].forEach(removeScratchDir);
  });

  it.each(cases)('counts nothing a member writes after its session lapsed: $name, held until its successor wrote the range', async ({ rule, env, dataDir, prefix }) => {
    const topics = topicNames(prefix);
    const groupId = `${topics.events}-speed`;
    const ch = (stores.get(prefix) as ClickHouseHandle).client;
    const startMember = async (name: string, url: string) => {
      const p = await startWeirProcess(['--role', 'speed'], { ...env, DATA_DIR: `${dataDir}/${name}`, CLICKHOUSE_URL: url, LOG_LEVEL: 'info' });
      members.push(p);
      return p;
    };
    await ensureTopics(testBrokers(), [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.attributions, numPartitions: PARTITIONS },
    ]);
    const gate = await harness.openGate();
    const events = storedEvents(16, 8000, APPS, NOW, 2 * HOUR_MS);
    const phases = [events.slice(0, 2000), events.slice(2000, 4000), events.slice(4000, 6000)];
    const reserve = events.slice(6000);
    const reserved = reserve.length;
    // One send per phase: both partitions' messages arrive in one fetch, mostly written as one flush group.
    const send = (batch: typeof events) => produce(topics.events, batch, { chunk: batch.length });
    const caughtUp = (what: string) => waitFor(() => groupCaughtUp(topics.events, groupId), { timeoutMs: 60_000, intervalMs: 250, what });

    const a = await startMember('a', gate.url);
    await send(phases[0]);
    await caughtUp('member A writing the first events');

    // A's next flush group is held at the rule, and A frozen there.
    let held: HeldRequest | undefined;
    let frozenAt = 0;
    void gate.hold(rule).then((h) => {
      a.child.kill('SIGSTOP');
      frozenAt = Date.now();
      held = h;
    });
    await send(phases[1]);
    const request = await waitFor(
      async () => {
        // A wrote them all without a match (each partition came as a group of its own): more.
        if (!held && reserve.length && (await groupCaughtUp(topics.events, groupId))) await send(reserve.splice(0, 200));
        return held;
      },
      { timeoutMs: 45_000, intervalMs: 250, what: `member A sending a statement matching ${rule.sql}${rule.data ? ` with data matching ${rule.data}` : ''}` },
    );
    const endAtHold = (await groupProgress(topics.events, groupId)).end;

    // B takes A's partitions once the group has dropped A, and writes the held range itself.
    const b = await startMember('b', harness.url);
    await caughtUp('member B writing everything produced before the hold');
    const tookOverS = (Date.now() - frozenAt) / 1000;
    expect((await groupProgress(topics.events, groupId)).committed).toBeGreaterThanOrEqual(endAtHold);
    expect(await viewCounts(ch)).toEqual(await expectedCounts(topics.events));

    // The stale write: A's held statement runs now, after B wrote its range; then A goes on.
    const answer: HeldAnswer = await request.release();
    a.child.kill('SIGCONT');
    // A finds it lost the group: it rejoins (two members again), or it exits.
    const admin = createKafka(testBrokers(), 'fence-watch').admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          if (a.child.exitCode !== null) return true;
          const [g] = (await admin.describeGroups([groupId])).groups;
          return g?.state === 'Stable' && g.members.length === 2;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'member A noticing it lost the group (rejoined or exited)' },
      );
    } finally {
      await admin.disconnect();
    }

    await send(phases[2]);
    await caughtUp('the group writing the last events');
    const [copies] = await queryRows<{ rows: number; positions: number }>(ch, 'SELECT count() AS rows, uniqExact(kafka_partition, kafka_offset) AS positions FROM events_rt');
    process.stderr.write(
      `speed-fencing: held ${JSON.stringify(request.sql.slice(0, 80))} (after ${reserved - reserve.length} events more than planned); A frozen ${tookOverS.toFixed(1)} s until B had written past it; ` +
        `released: ${JSON.stringify(answer)}; events_rt ${copies.rows} rows for ${copies.positions} positions; A ${a.child.exitCode === null ? 'rejoined' : `exited with ${a.child.exitCode}`}\n`,
    );
    // The held statement ran (its client was answered) after B had written its range…
    expect(answer.status).toBeGreaterThan(0);
    // …and no view counts it.
    expect(await viewCounts(ch)).toEqual(await expectedCounts(topics.events));
    expect(await b.stop('SIGTERM')).toBe(0);
  });
});

interface Counts {
  /** hourly_rt events by `app_id type`. */
  hourly: Record<string, number>;
  /** First installs by app: hourly_rt (install_kind), attributions_rt (FINAL). */
  firstInstalls: Record<string, number>;
  attributions: Record<string, number>;
  /** realtime_rt by app inside its TTL: `events clicks errors`. */
  realtime: Record<string, string>;
}

/** What the views count (realtime_rt's first installs against the distinct events_rt rows that are first installs). */
async function viewCounts(ch: ClickHouseClient): Promise<Counts & { realtimeInstalls: boolean }> {
  const byKey = <T>(rows: { k: string; v: T }[]) => Object.fromEntries(rows.map((r) => [r.k, r.v]));
  const q = <T>(sql: string) => queryRows<{ k: string; v: T }>(ch, sql, { from: REALTIME_FROM_S }).then(byKey);
  const [realtimeInstalls] = await queryRows<{ view: number; rows: number }>(
    ch,
    `SELECT (SELECT sum(installs) FROM realtime_rt WHERE second >= toDateTime({from:UInt32})) AS view,
            (SELECT uniqExact(kafka_partition, kafka_offset) FROM events_rt WHERE install_kind IN ('attributed', 'organic', 'rejected') AND ts >= toDateTime({from:UInt32})) AS rows`,
    { from: REALTIME_FROM_S },
  );
  return {
    hourly: await q<number>(`SELECT concat(app_id, ' ', type) AS k, sum(events) AS v FROM hourly_rt GROUP BY k`),
    firstInstalls: await q<number>(`SELECT toString(app_id) AS k, sum(events) AS v FROM hourly_rt WHERE install_kind IN ('attributed', 'organic', 'rejected') GROUP BY k`),
    attributions: await q<number>(`SELECT toString(app_id) AS k, count() AS v FROM attributions_rt FINAL GROUP BY k`),
    realtime: await q<string>(
      `SELECT toString(app_id) AS k, concat(toString(sum(events)), ' ', toString(sum(clicks)), ' ', toString(sum(errors))) AS v FROM realtime_rt WHERE second >= toDateTime({from:UInt32}) GROUP BY k`,
    ),
    realtimeInstalls: realtimeInstalls.view === realtimeInstalls.rows,
  };
}

/** The same counts of the events on the topic, each (app_id, event_id) once. */
async function expectedCounts(topic: string): Promise<Counts & { realtimeInstalls: boolean }> {
  const model = buildReferenceModel(await topicEvents(topic));
  const add = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  const hourly: Record<string, number> = {};
  const recent: Record<string, number[]> = {};
  // The winners are of counted types only (buildReferenceModel).
  for (const e of model.winners) {
    add(hourly, `${e.app_id} ${e.type}`);
    if (Math.floor(e.ts / 1000) >= REALTIME_FROM_S) {
      const r = (recent[e.app_id] ??= [0, 0, 0]);
      r[0]++;
      if (e.type === 'click') r[1]++;
      if (e.type === 'error') r[2]++;
    }
  }
  // Every device with an install has one first install, whichever of its installs the stream saw first.
  const firstInstalls: Record<string, number> = {};
  for (const d of model.attribution.firstInstalls.values()) add(firstInstalls, d.app_id);
  return {
    hourly,
    firstInstalls,
    attributions: firstInstalls,
    realtime: Object.fromEntries(Object.entries(recent).map(([app, r]) => [app, r.join(' ')])),
    realtimeInstalls: true,
  };
}
