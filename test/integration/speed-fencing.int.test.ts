/**
 * Fencing of the speed layer (issue 16, item 4): a member whose session lapsed cannot add rows;
 * its late writes are never counted. Black-box, on the server path: two `weir start --role
 * speed` processes of one consumer group against the ClickHouse HTTP harness (test/harness),
 * member A through a gate of the harness (request-gate.ts) that holds one of its writes.
 *
 * 1. A writes the first events. Then the gate holds A's first write matching HOLD (below),
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
 * 3-hour TTL), attributions_rt's first installs (FINAL: a ReplacingMergeTree by install).
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../../infra/clickhouse/client';
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
 * Which statement of A's is held: the first whose SQL matches `sql` (and, if set, whose INSERT
 * data sent after a query in the URL matches `data`), through A's gate only.
 *
 * Today (speed-layer/group-commit.ts) a flush group writes attributions_rt, then its rows to
 * events_rt (`INSERT INTO events_rt_incoming … FORMAT JSONEachRow`, the rows as the body),
 * then an INSERT … SELECT FROM events_rt per view with a token named after the group, then
 * speed_progress. The stale write that today's views can count is the events_rt insert of a
 * group of several partitions (its rows name the group: "_g"): B, restoring from events_rt,
 * finds the range unwritten and writes it again; A, continued, applies its group to the views,
 * reading both copies, under tokens of its own group id that none of B's statements has. A
 * late view insert alone would be harmless today: its rows are in events_rt before it, so B
 * resumes past them and applies A's group itself under A's tokens, and the late insert is
 * deduplicated by them. With a fence, point HOLD at the fenced statement to prove (e.g.
 * `{ sql: /^\s*INSERT INTO hourly_rt\b/ }`).
 */
const HOLD: HoldRule = { sql: /^\s*INSERT INTO events_rt_incoming\b/, data: /"_g":"/ };

const PARTITIONS = 2;
const APPS = ['fence-a', 'fence-b'];
const HOUR_MS = 3_600_000;
/** realtime_rt keeps 3 hours (TTL): it is compared from here on. */
const NOW = Date.now();
const REALTIME_FROM_S = Math.floor((NOW - 2.5 * HOUR_MS) / 1000);

describe('speed layer fencing', () => {
  const { env, dataDir, prefix } = testEnv({ KAFKA_EVENTS_PARTITIONS: String(PARTITIONS) });
  const topics = topicNames(prefix);
  const groupId = `${topics.events}-speed`;
  const database = `weir_fence_${prefix.slice(1, -1)}`;
  let harness: ClickHouseHttpHarness | undefined;
  let ch: ClickHouseClient | undefined;
  const members: WeirProcess[] = [];

  const startMember = async (name: string, url: string) => {
    const p = await startWeirProcess(['--role', 'speed'], { ...env, DATA_DIR: `${dataDir}/${name}`, CLICKHOUSE_URL: url, CLICKHOUSE_DATABASE: database, LOG_LEVEL: 'info' });
    members.push(p);
    return p;
  };

  afterAll(async () => {
    for (const p of members) p.child.kill('SIGCONT');
    await Promise.all(members.map((p) => p.stop('SIGKILL')));
    await ch?.close();
    await harness?.stop();
    removeScratchDir(dataDir);
  });

  it('counts no write of a member that lost its session, even one executed after its successor wrote the same range', async () => {
    await ensureTopics(testBrokers(), [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.attributions, numPartitions: PARTITIONS },
    ]);
    harness = await startClickHouseHttpHarness({ dataDir: makeScratchDir('weir-fence-clickhouse') });
    ch = createClient({ url: harness.url, database, clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
    const gate = await harness.openGate();
    const events = storedEvents(16, 6000, APPS, NOW, 2 * HOUR_MS);
    const phases = [events.slice(0, 2000), events.slice(2000, 4000), events.slice(4000)];
    // One send per phase: both partitions' messages arrive in one fetch, and are written as one flush group.
    const send = (phase: number) => produce(topics.events, phases[phase], { chunk: phases[phase].length });
    const caughtUp = (what: string) => waitFor(() => groupCaughtUp(topics.events, groupId), { timeoutMs: 60_000, intervalMs: 250, what });

    const a = await startMember('a', gate.url);
    await send(0);
    await caughtUp('member A writing the first events');

    // A's next flush group is held at HOLD, and A frozen there.
    let held: HeldRequest | undefined;
    let frozenAt = 0;
    void gate.hold(HOLD).then((h) => {
      a.child.kill('SIGSTOP');
      frozenAt = Date.now();
      held = h;
    });
    await send(1);
    const request = await waitFor(() => held, { timeoutMs: 30_000, what: `member A sending a statement matching ${HOLD.sql}${HOLD.data ? ` with data matching ${HOLD.data}` : ''}` });
    const endAtHold = (await groupProgress(topics.events, groupId)).end;

    // B takes A's partitions once the group has dropped A, and writes the held range itself.
    const b = await startMember('b', harness.url);
    await caughtUp('member B writing everything produced before the hold');
    const tookOverS = (Date.now() - frozenAt) / 1000;
    expect((await groupProgress(topics.events, groupId)).committed).toBeGreaterThanOrEqual(endAtHold);
    const before = await expectedCounts(topics.events);
    expect(await viewCounts(ch)).toEqual(before);

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

    await send(2);
    await caughtUp('the group writing the last events');
    const stale = (await queryRows<{ rows: number; distinct: number }>(ch, 'SELECT count() AS rows, uniqExact(kafka_partition, kafka_offset) AS distinct FROM events_rt'))[0];
    process.stderr.write(
      `speed-fencing: held ${JSON.stringify(request.sql.slice(0, 120))}; frozen ${tookOverS.toFixed(1)} s until B had written past it; ` +
        `released: ${JSON.stringify(answer)}; events_rt ${stale.rows} rows for ${stale.distinct} positions; A ${a.child.exitCode === null ? 'rejoined' : `exited with ${a.child.exitCode}`}\n`,
    );
    // The held statement ran (its client was answered) after B had written its range.
    expect(answer.status).toBeGreaterThan(0);

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
