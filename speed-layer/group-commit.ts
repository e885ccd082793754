/**
 * Group commit: the staged batches of every partition that are ready at the same moment are
 * written and decided together, as one flush group. Every statement costs milliseconds
 * whatever its size, so a fetch of six partitions written one by one paid six times for each
 * step; written as a group, once.
 *
 * A group is written in this order, each step safe to redo (issue 16, item 3: durable intents):
 * 1. its rows into speed_staged in one insert (while the DLQ receives its undecodable messages);
 * 2. the rules decide its first installs in SQL into speed_decisions (rules/, sql/decide.sql):
 *    once, under the group's token, so that a redo applies the same decisions instead of
 *    deciding again over state the group itself changed;
 * 3. the decisions go to the attributions topic (at least once), then the group's intent, the
 *    offset ranges of its partitions, into speed_flush_groups;
 * 4. each target, under a token naming it and the group: events_rt with the derived
 *    dimensions (sql/events-rt.sql), the state (sql/state.sql: first installs, clicks by
 *    device, attributions_rt), then the views (realtime-views/views-writer.ts), then each
 *    partition's position (speed_progress).
 * Every write of 2 and 4 is fenced (partition-owners.ts): a member that lost its partitions
 * writes nothing. After a crash before the intent, the group is abandoned: its events come
 * again from Kafka. After one past it, the partition's next owner finds the intent past its
 * position and runs 2–4 again under the same tokens (redoUnapplied): a target the group had
 * reached counts it once, the others get it.
 *
 * Groups overlap: the next group is staged at once and decides as soon as this one's state
 * (events_rt, the state tables, clicks_by_ip_ua_rt) is written, while this one's views and
 * position are written; positions still move in order, each group's after the previous one's.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../infra/clickhouse/client';
import { splitStatements } from '../infra/clickhouse/sql-statements';
import type { AppRuleParams } from '../rules/app-rules';
import { EventsRtRows, insertEventsRt } from './events-rt-rows';
import { fenceSql, type Claim } from './partition-owners';
import type { BatchOutcome } from './partition-processor';
import { applyToViews, inlined, runSideBySide, type DayPlan, type OffsetRange } from './realtime-views/views-writer';

/** One partition's staged batch, waiting to be written. */
export interface PartitionBatch {
  partition: number;
  /** The first offset the views lack for this partition: its range starts here. */
  first: number;
  out: BatchOutcome;
}

/** A first install the stream decided, as the attributions topic and metrics receive it. */
export interface StreamDecision {
  app_id: string;
  install_event_id: string;
  device_id: string;
  ts: string;
  outcome: 'attributed' | 'organic' | 'rejected';
  match: string;
  click_event_id: string;
  channel: string;
  campaign_id: string;
  ctit_ms: number | null;
  fraud_reason: string;
  decided_at: string;
}

/** What a completed group wrote: its events (rows), first installs decided and late clicks. */
export interface GroupDone {
  events: number;
  decisions: readonly StreamDecision[];
  lateClicks: number;
}

export interface GroupCommitDeps {
  ch: ClickHouseClient;
  /** Sends undecodable messages to the DLQ (acks=all). */
  sendUndecodable(batches: readonly PartitionBatch[]): Promise<void>;
  /** Sends a group's decisions to the attributions topic (acks=all). */
  sendDecisions(decisions: readonly StreamDecision[]): Promise<void>;
  /** The rule parameters for the apps of a group (rules/app-rules.ts). */
  ruleParams(appIds: ReadonlySet<string>): Promise<AppRuleParams>;
  /** This member's claim of a partition it holds (fencing). */
  claimOf(partition: number): Claim;
  /** Called with each group written, by this process or completed after a restart. */
  onGroup?(g: GroupDone & { partitions: number }): void;
  /**
   * A directory the embedded ClickHouse reads with file() (unset with a server): the staged
   * rows are then handed over as a file, about 4× cheaper than streamed through the client.
   */
  stagingDir?: string;
  /** Clients that run statements side by side, for the target inserts; without it, `ch` writes them one by one. */
  pool?: readonly ClickHouseClient[];
}

export interface GroupCommit {
  /** Resolves once the batch's group is complete (its rows in events_rt, the state and the views); rejects with its group's error. */
  submit(batch: PartitionBatch): Promise<void>;
  /**
   * The same in two steps: `state` once the group's decisions and state are written (the
   * partition's next batch may be decided: its group reads that state), `done` once the group
   * is complete (its position moved: a commit may follow). `done` rejects when `state` does.
   */
  submitInSteps(batch: PartitionBatch): GroupGates;
}

export function createGroupCommit(deps: GroupCommitDeps): GroupCommit {
  interface Waiting {
    batch: PartitionBatch;
    state: Settle;
    done: Settle;
  }
  let pending: Waiting[] = [];
  let draining = false;
  /** The previous group: its state written (what the next group's decisions read), and complete. */
  let previous: GroupGates = { state: Promise.resolve(), done: Promise.resolve() };

  async function drain(): Promise<void> {
    // Batches submitted while a group is written form the next group, which starts deciding
    // once the previous one's state is written (its views and position still being written).
    while (pending.length > 0) {
      const group = pending;
      pending = [];
      const run = writeGroup(deps, group.map((g) => g.batch), previous);
      previous = run;
      run.state.then(
        () => group.forEach((g) => g.state.resolve()),
        (err: unknown) => group.forEach((g) => g.state.reject(err)),
      );
      run.done.then(
        () => group.forEach((g) => g.done.resolve()),
        (err: unknown) => {
          group.forEach((g) => g.done.reject(err));
          // The groups chained to a failed one fail too (their partitions are restored, which
          // completes them in order); the first group after the last of them starts afresh.
          if (previous === run) previous = { state: Promise.resolve(), done: Promise.resolve() };
        },
      );
      await run.state.catch(() => undefined);
    }
    draining = false;
  }

  const submitInSteps = (batch: PartitionBatch): GroupGates => {
    const state = settleable();
    const done = settleable();
    pending.push({ batch, state, done });
    if (!draining) {
      draining = true;
      // One turn of the event loop lets the partitions decided in the same fetch join.
      setImmediate(() => void drain());
    }
    return { state: state.promise, done: done.promise };
  };
  return {
    submitInSteps,
    submit: (batch) => {
      const gates = submitInSteps(batch);
      gates.state.catch(() => undefined); // its error is done's too
      return gates.done;
    },
  };
}

interface Settle {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function settleable(): Settle {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A group's identity and what its statements need. */
interface GroupWrite {
  group: string;
  ranges: readonly OffsetRange[];
  /** The views' inserts (the rows' event dates); read back from events_rt when redoing. */
  plan?: DayPlan[];
  /** The fence every write carries. */
  fence: string;
  appIds: ReadonlySet<string>;
  /** Notes the end of a step (WEIR_SPEED_PROFILE). */
  step: (name: string) => void;
}

/** WEIR_SPEED_PROFILE=1 prints each step's wall time of every flush group to stderr. */
const PROFILE = process.env.WEIR_SPEED_PROFILE === '1';
function stepTimer(group: string): (step: string) => void {
  if (!PROFILE) return () => {};
  let last = performance.now();
  const steps: string[] = [];
  return (step) => {
    const now = performance.now();
    steps.push(`${step} ${Math.round(now - last)}`);
    last = now;
    if (step === 'checked') process.stderr.write(`[speed group ${group.slice(0, 8)}] ${steps.join(', ')} ms\n`);
  };
}


/**
 * A group in flight: `state` settles once its decisions and state are written (the next
 * group may decide), `done` once it is complete. A group that fails fails the ones after it:
 * their decisions would have read state without it.
 */
export interface GroupGates {
  state: Promise<void>;
  done: Promise<void>;
}

function writeGroup(deps: GroupCommitDeps, batches: readonly PartitionBatch[], previous: GroupGates): GroupGates {
  const state = stageAndDecide(deps, batches, previous.state);
  // Complete in order: a group's position never moves before the previous group's views are in.
  const done = state.then(async (write) => {
    await previous.done;
    if (write) await applyViews(deps, write.write, write.done);
  });
  return { state: state.then(() => undefined), done };
}

/** Steps 1–3 and the targets the next group's decisions read; undefined when the batches wrote no row. */
async function stageAndDecide(deps: GroupCommitDeps, batches: readonly PartitionBatch[], previousState: Promise<void>): Promise<{ write: GroupWrite; done: GroupDone } | undefined> {
  const dlq = deps.sendUndecodable(batches);
  const written = batches.filter((b) => b.out.rows.count > 0);
  if (written.length === 0) {
    await Promise.all([dlq, previousState]);
    return undefined;
  }
  const ranges = written.map((b) => ({ partition: b.partition, first: b.first, last: b.out.rows.lastOffset }));
  const rows = EventsRtRows.concat(written.map((b) => b.out.rows));
  const write: GroupWrite = { group: randomUUID(), ranges, plan: rows.plan.list(), fence: fenceSql(deps.claimOf, ranges.map((r) => r.partition)), appIds: rows.appIds, step: stepTimer('') };
  write.step = stepTimer(write.group);
  // A turn of the event loop first lets kafkajs put the DLQ send on the wire.
  const staged = new Promise(setImmediate).then(() => insertEventsRt(deps.ch, rows, write.group, deps.stagingDir));
  const [send, staging, before] = await Promise.allSettled([dlq, staged, previousState]);
  if (send.status === 'rejected') throw send.reason;
  if (staging.status === 'rejected') throw staging.reason;
  if (before.status === 'rejected') throw before.reason;
  write.step(`staged ${rows.count} rows`);
  const decided = await decideAndSend(deps, write);
  // Only now is the group one to complete after a crash: one whose decisions could not be
  // sent is abandoned, its events fetched and decided again (over the same state: nothing of
  // it was applied).
  await recordIntent(deps.ch, write.group, ranges);
  write.step('intent');
  await applyState(deps, write);
  return { write, done: { ...decided, events: rows.count } };
}

/** Step 2 and 3 (see the file's comment): the group's first installs decided and sent. */
async function decideAndSend(deps: GroupCommitDeps, write: GroupWrite): Promise<{ decisions: StreamDecision[]; lateClicks: number }> {
  const { ch } = deps;
  const params = await deps.ruleParams(write.appIds);
  await command(ch, statement('decide.sql', write, 'decide'), { ...params, decided_at: Date.now() });
  write.step('decided');
  const [decisions, lateClicks] = await Promise.all([readDecisions(ch, write.group), countLateClicks(ch, write.group, params)]);
  write.step('read');
  await deps.sendDecisions(decisions);
  write.step('sent');
  return { decisions, lateClicks };
}

/** Step 4, first part: events_rt and the state tables, side by side. */
async function applyState(deps: GroupCommitDeps, write: GroupWrite): Promise<void> {
  await runSideBySide(deps.pool ?? [deps.ch], [statement('events-rt.sql', write, 'events_rt'), ...STATE_STATEMENTS.map((name, i) => statement(`state.sql#${i}`, write, name))]);
  write.step('events_rt+state');
}

/** Step 4, the rest: the views from events_rt, the position, then whether the claim held throughout. */
async function applyViews(deps: GroupCommitDeps, write: GroupWrite, done: GroupDone): Promise<void> {
  const { ch } = deps;
  await applyToViews(ch, { tokenBase: `g${write.group}`, ranges: write.ranges, group: write.group, fence: write.fence }, write.plan, deps.pool ?? [ch]);
  write.step('views');
  await command(ch, progressStatement(write));
  write.step('progress');
  // A fenced statement writes nothing and says nothing: whether the claim held to the end is
  // asked once, so that a member that lost its partitions neither commits past the group nor
  // counts it in its metrics. (Once fenced, its claim never holds again.)
  const [held] = await queryRows<{ ok: number | boolean }>(ch, `SELECT ${write.fence} AS ok`);
  write.step('checked');
  if (!held || !Number(held.ok)) throw new PartitionsLostError(write.ranges.map((r) => r.partition));
  deps.onGroup?.({ partitions: write.ranges.length, ...done });
}

/** The member's claim of a group's partitions was superseded: another member owns them now, and this one's writes were fenced. */
export class PartitionsLostError extends Error {
  constructor(readonly partitions: readonly number[]) {
    super(`speed layer: partitions ${partitions.join(', ')} are claimed by another member now; this member's writes of the flush group were fenced`);
  }
}

/** The targets sql/state.sql writes, in its order: each names its token. */
const STATE_STATEMENTS = ['speed_first_installs', 'speed_device_clicks', 'attributions_rt', 'clicks_by_ip_ua_rt'] as const;

// One block per insert (max_threads 1, blocks squashed whatever their size), so a token always
// names the same block. Settings in the SQL: chDB keeps per-call settings for later calls.
const WRITE_SETTINGS = 'SETTINGS insert_deduplication_token = {token:String}, max_threads = 1, max_insert_threads = 1, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 1099511627776';

const sqlCache = new Map<string, string[]>();
/** `name.sql`, or its n-th statement as `name.sql#n`. */
function loadSql(name: string): string {
  const [file, index] = name.split('#');
  let statements = sqlCache.get(file);
  if (!statements) sqlCache.set(file, (statements = splitStatements(fs.readFileSync(path.join(__dirname, 'sql', file), 'utf8'))));
  return statements[Number(index ?? 0)];
}

function statement(name: string, write: GroupWrite, target: string): { query: string; query_params: Record<string, unknown> } {
  const sql = `${loadSql(name).replace('{{FENCE}}', write.fence)}\n${WRITE_SETTINGS}`;
  return inlined(sql, { group: write.group, token: `${target}:${write.group}` });
}

function progressStatement(write: GroupWrite): { query: string; query_params: Record<string, unknown> } {
  const values = write.ranges.map((r) => `(${r.partition}, ${r.last})`).join(', ');
  return {
    query: `INSERT INTO speed_progress (kafka_partition, views_through)
            SELECT r.1, r.2 FROM (SELECT arrayJoin([${values}]) AS r) WHERE ${write.fence}`,
    query_params: {},
  };
}

async function command(ch: ClickHouseClient, s: { query: string; query_params: Record<string, unknown> }, extra: Record<string, unknown> = {}): Promise<void> {
  const params = { ...s.query_params, ...extra };
  // Parameters the statement does not name are not sent (the rule arrays can be long).
  for (const k of Object.keys(params)) if (!s.query.includes(`{${k}:`)) delete params[k];
  await ch.command({ query: s.query, query_params: params });
}

async function recordIntent(ch: ClickHouseClient, group: string, ranges: readonly OffsetRange[]): Promise<void> {
  await ch.insert({
    table: 'speed_flush_groups',
    values: [{ flush_group: group, partitions: ranges.map((r) => r.partition), firsts: ranges.map((r) => r.first), lasts: ranges.map((r) => r.last) }],
    format: 'JSONEachRow',
  });
}

async function readDecisions(ch: ClickHouseClient, group: string): Promise<StreamDecision[]> {
  // The group's id written in (inlined): a query without parameters runs beside others in chDB.
  const q = inlined(
    `SELECT app_id, install_event_id, device_id, toString(ts) AS ts, outcome, match, click_event_id, channel, campaign_id, ctit_ms, fraud_reason, toString(decided_at) AS decided_at
     FROM speed_decisions WHERE flush_group = {group:String} ORDER BY kafka_partition, kafka_offset`,
    { group },
  );
  const rows = await queryRows<StreamDecision & { ctit_ms: string | number | null }>(ch, q.query, q.query_params);
  return rows.map((r) => ({ ...r, ctit_ms: r.ctit_ms === null ? null : Number(r.ctit_ms) }));
}

/**
 * Clicks of the group that arrived after a first install they could have won (at or before
 * it, within the app's lookback): the stream decided the install without them, batch may not.
 */
async function countLateClicks(ch: ClickHouseClient, group: string, params: AppRuleParams): Promise<number> {
  const [row] = await queryRows<{ n: string }>(
    ch,
    `SELECT count() AS n
     FROM speed_staged AS c
     INNER JOIN (
       SELECT app_id, device_id, ts, toInt64(-1) AS arrival FROM speed_first_installs
       WHERE flush_group != {group:String}
         AND (app_id, device_id) IN (SELECT CAST(app_id AS String), device_id FROM speed_staged WHERE flush_group = {group:String} AND type = 'click')
       UNION ALL
       SELECT app_id, device_id, ts, toInt64(kafka_offset) FROM speed_decisions WHERE flush_group = {group:String}
     ) AS f ON f.app_id = CAST(c.app_id AS String) AND f.device_id = c.device_id
     WHERE c.flush_group = {group:String} AND c.type = 'click' AND f.arrival < toInt64(c.kafka_offset)
       AND c.ts <= f.ts
       AND toUnixTimestamp64Milli(f.ts) - toUnixTimestamp64Milli(c.ts) <= weir_lookback_ms(f.app_id, {app_ids:Array(String)}, {app_lookback_days:Array(UInt16)}, {default_lookback_days:UInt16})`,
    { group, app_ids: params.app_ids, app_lookback_days: params.app_lookback_days, default_lookback_days: params.default_lookback_days },
  );
  return Number(row?.n ?? 0);
}

/**
 * After a restart: completes, in order, the flush groups whose range of this partition starts
 * past its position (`position`: the last offset applied, -1 none) and whose rows were staged,
 * under their tokens; a group whose rows never reached speed_staged was abandoned (its events
 * come again from Kafka). Returns the partition's new position. A group that overlaps the
 * position was superseded (a member that lost the partition staged it; its owner wrote the
 * range since) and is left alone.
 */
/** The groups this process is completing after a restart, by id. */
const redoing = new Map<string, Promise<void>>();

export async function redoUnapplied(deps: GroupCommitDeps, partition: number, position: number): Promise<number> {
  const intents = await queryRows<{ flush_group: string; partitions: number[]; firsts: (number | string)[]; lasts: (number | string)[] }>(
    deps.ch,
    `SELECT flush_group, partitions, firsts, lasts FROM speed_flush_groups
     WHERE has(partitions, {p:UInt16}) AND firsts[indexOf(partitions, {p:UInt16})] > {position:Int64}
     ORDER BY firsts[indexOf(partitions, {p:UInt16})]`,
    { p: partition, position },
  );
  let through = position;
  for (const intent of intents) {
    const ranges = intent.partitions.map((p, i) => ({ partition: Number(p), first: Number(intent.firsts[i]), last: Number(intent.lasts[i]) }));
    const own = ranges.find((r) => r.partition === partition) as OffsetRange;
    if (own.first <= through) continue;
    const [staged] = await queryRows<{ n: string; apps: string[] }>(
      deps.ch,
      'SELECT count() AS n, groupUniqArray(CAST(app_id AS String)) AS apps FROM speed_staged WHERE flush_group = {group:String}',
      { group: intent.flush_group },
    );
    if (Number(staged?.n ?? 0) === 0) break;
    // Fenced on this partition alone: the group's other partitions may be other members' by now,
    // and whoever completes the group first writes it once for all (the same tokens). The
    // partitions of a group restored side by side in this process complete it once.
    let completing = redoing.get(intent.flush_group);
    if (!completing) {
      const write: GroupWrite = { group: intent.flush_group, ranges, fence: fenceSql(deps.claimOf, [partition]), appIds: new Set(staged.apps), step: stepTimer(intent.flush_group) };
      completing = decideAndSend(deps, write).then(async (decided) => {
        await applyState(deps, write);
        await applyViews(deps, write, { ...decided, events: Number(staged.n) });
      });
      redoing.set(intent.flush_group, completing);
      void completing.finally(() => redoing.delete(intent.flush_group)).catch(() => undefined);
    }
    await completing;
    through = own.last;
  }
  return through;
}
