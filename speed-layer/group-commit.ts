/**
 * Group commit: the decided batches of every partition that are ready at the same moment are
 * written together, as one flush group. Every insert writes a part, and a part costs
 * milliseconds whatever its size (~10 ms on this project's test machines), so a fetch of six
 * partitions written one by one paid six times for each table; written as a group, once.
 *
 * A group is written in this order, each step safe to redo:
 * 1. decisions into attributions_rt (ReplacingMergeTree by install) and to the attributions
 *    topic (at least once), undecodable messages to the DLQ;
 * 2. for a group of several partitions, its ranges into speed_flush_groups, and its rows
 *    staged for their insert (both while the broker stores the decisions of step 1);
 * 3. once the decisions are sent, its rows into events_rt in one insert, so one part (the table has no partition key):
 *    every row carries the group id, and each partition's resume position (its highest
 *    offset written) moves past its range at once, or not at all;
 * 4. the rows into the views and the progress table (realtime-views/views-writer.ts), with
 *    deduplication tokens named after the group.
 * After a crash between 3 and 4, the first partition of the group to be restored finds rows
 * past its progress, reads the group's ranges back and applies the whole group again under
 * the same tokens (redoUnapplied): views the group had reached count it once.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { EventsRtRows, stageEventsRt } from './events-rt-rows';
import type { BatchOutcome } from './partition-processor';
import { applyToViews, type OffsetRange } from './realtime-views/views-writer';

/** One partition's decided batch, waiting to be written. */
export interface PartitionBatch {
  partition: number;
  /** The first offset the views lack for this partition: its range starts here. */
  first: number;
  out: BatchOutcome;
}

export interface GroupCommitDeps {
  ch: ClickHouseClient;
  /** Sends the group's decisions to the attributions topic and its undecodable messages to the DLQ (acks=all). */
  publish(batches: readonly PartitionBatch[]): Promise<void>;
  /** Called with the number of partitions of each group written. */
  onGroup?(partitions: number): void;
  /**
   * A directory the embedded ClickHouse reads with file() (unset with a server): events_rt
   * rows are then handed over as a file, about 4× cheaper than streamed through the client.
   */
  stagingDir?: string;
  /** Clients that run statements side by side, for the view inserts (applyToViews). */
  pool?: readonly ClickHouseClient[];
}

export interface GroupCommit {
  /** Resolves once the batch's rows are in events_rt and the views; rejects with its group's error. */
  submit(batch: PartitionBatch): Promise<void>;
}

export function createGroupCommit(deps: GroupCommitDeps): GroupCommit {
  let pending: { batch: PartitionBatch; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    // Batches submitted while a group is written form the next group.
    while (pending.length > 0) {
      const group = pending;
      pending = [];
      try {
        await writeGroup(deps, group.map((g) => g.batch));
        for (const g of group) g.resolve();
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    draining = false;
  }

  return {
    submit: (batch) =>
      new Promise<void>((resolve, reject) => {
        pending.push({ batch, resolve, reject });
        if (draining) return;
        draining = true;
        // One turn of the event loop lets the partitions decided in the same fetch join.
        setImmediate(() => void drain());
      }),
  };
}

async function writeGroup(deps: GroupCommitDeps, batches: readonly PartitionBatch[]): Promise<void> {
  const attributions = batches.flatMap((b) => b.out.attributions);
  if (attributions.length) await deps.ch.insert({ table: 'attributions_rt', values: attributions, format: 'JSONEachRow' });
  const sent = deps.publish(batches);
  const written = batches.filter((b) => b.out.rows.count > 0);
  if (written.length === 0) return sent;
  const ranges = written.map((b) => ({ partition: b.partition, first: b.first, last: b.out.rows.lastOffset }));
  const group = ranges.length > 1 ? randomUUID() : '';
  const rows = EventsRtRows.concat(written.map((b) => b.out.rows));
  // While the broker stores the decisions, the group's ranges are recorded and its rows staged
  // (JS and disk work; a turn of the event loop first lets kafkajs put the send on the wire).
  // The rows' insert waits for the send: once they are written, a restart resumes past them.
  const ready = new Promise(setImmediate).then(() =>
    Promise.all([stageEventsRt(deps.ch, rows, group, deps.stagingDir), group ? recordRanges(deps.ch, group, ranges) : undefined]).then(([staged]) => staged),
  );
  const [send, staging] = await Promise.allSettled([sent, ready]);
  if (send.status === 'rejected' || staging.status === 'rejected') {
    if (staging.status === 'fulfilled') await staging.value.discard();
    throw send.status === 'rejected' ? send.reason : (staging as PromiseRejectedResult).reason;
  }
  await staging.value.insert();
  await applyToViews(deps.ch, { tokenBase: tokenBase(group, ranges), ranges }, rows.plan.list(), deps.pool);
  deps.onGroup?.(ranges.length);
}

async function recordRanges(ch: ClickHouseClient, group: string, ranges: readonly OffsetRange[]): Promise<void> {
  await ch.insert({
    table: 'speed_flush_groups',
    values: [{ flush_group: group, partitions: ranges.map((r) => r.partition), firsts: ranges.map((r) => r.first), lasts: ranges.map((r) => r.last) }],
    format: 'JSONEachRow',
  });
}

/**
 * A group of several partitions is named by its id; a group of one (and every row written
 * before groups existed, whose flush_group is '') by its range, as its tokens always were.
 */
function tokenBase(group: string, ranges: readonly OffsetRange[]): string {
  return group ? `g${group}` : `${ranges[0].partition}:${ranges[0].first}:${ranges[0].last}`;
}

/**
 * After a restart: applies to the views every group whose rows this partition wrote past its
 * progress (at most the last one, unless a crash came between), whole and under its tokens.
 * Returns the partition's new progress.
 */
export async function redoUnapplied(ch: ClickHouseClient, partition: number, viewsThrough: number): Promise<number> {
  const rs = await ch.query({
    query: `SELECT flush_group, max(kafka_offset) AS last FROM events_rt
            WHERE kafka_partition = {p:UInt16} AND kafka_offset > {after:Int64}
            GROUP BY flush_group ORDER BY last`,
    query_params: { p: partition, after: viewsThrough },
    format: 'JSONEachRow',
  });
  let through = viewsThrough;
  for (const g of await rs.json<{ flush_group: string; last: string }>()) {
    const ranges = g.flush_group ? await groupRanges(ch, g.flush_group) : [{ partition, first: through + 1, last: Number(g.last) }];
    await applyToViews(ch, { tokenBase: tokenBase(g.flush_group, ranges), ranges });
    through = Number(g.last);
  }
  return through;
}

async function groupRanges(ch: ClickHouseClient, group: string): Promise<OffsetRange[]> {
  const rs = await ch.query({
    query: 'SELECT partitions, firsts, lasts FROM speed_flush_groups WHERE flush_group = {g:String} LIMIT 1',
    query_params: { g: group },
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ partitions: number[]; firsts: (number | string)[]; lasts: (number | string)[] }>();
  // Written before the group's rows: missing means the store lost a committed insert.
  if (!r) throw new Error(`speed layer: rows of flush group ${group} are in events_rt but its ranges are not in speed_flush_groups`);
  return r.partitions.map((p, i) => ({ partition: p, first: Number(r.firsts[i]), last: Number(r.lasts[i]) }));
}
