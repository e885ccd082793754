/**
 * One Kafka partition of the speed layer, in this process: what JS still does per message
 * before the rules decide in SQL (flush-group.ts): decode it (the undecodable go to the DLQ),
 * leave out what is never counted and the copies the dedup window recognises, and hand the
 * rest on as staged lines with their partition and offset.
 *
 * The process holds no attribution state. Restoring a partition reads its position (the last
 * offset a completed flush group applied, speed_progress), completes the group a crash
 * interrupted (redoUnapplied), and refills the dedup window: at most DEDUP_CAPACITY ids,
 * whatever the history.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { KafkaMessage } from 'kafkajs';
import { queryRows } from '../infra/clickhouse/client';
import { ResumeRefusedError } from '../infra/kafka/refused-partitions';
import { decodeStoredEvent } from '../schemas/decode-stored-event';
import { isCountedType } from '../schemas/event';
import { EventsRtRows } from './events-rt-rows';
import { ForgottenIds } from './forgotten-ids';
import { RecentIds } from './recent-ids';
import { viewsThrough } from './realtime-views/views-writer';

export interface BatchOutcome {
  rows: EventsRtRows;
  duplicates: number;
  /** Probably copies of an id the dedup window forgot: counted in the views again (forgotten-ids.ts). */
  forgottenCopies: number;
  skipped: number;
  undecodable: { offset: number; reason: string }[];
}

/** Recent `(app_id, event_id)` kept per partition to recognise client retries. */
export const DEDUP_CAPACITY = 500_000;
/** The ids forgotten by the window, approximately: 1–2 M more per partition, 2 × 2.4 MB at most. */
const FORGOTTEN_PER_GENERATION = 1_000_000;
const FORGOTTEN_FALSE_POSITIVE_RATE = 1e-4;

export class PartitionProcessor {
  private readonly seen = new RecentIds(DEDUP_CAPACITY, new ForgottenIds(FORGOTTEN_PER_GENERATION, FORGOTTEN_FALSE_POSITIVE_RATE));
  /** First offset no completed flush group has applied. */
  private next = 0;
  /** The topic id the partition's rows belong to, and the topic's id now (set by restore). */
  private rowsTopicId = '';
  private topicId = '';

  constructor(readonly partition: number) {}

  /**
   * Reads the partition's position (its claim is made at the join: partition-owners.ts).
   * `redo` completes the flush groups written past it (group-commit.ts redoUnapplied) and
   * returns the new position. `topicId`: the topic's id now (see checkResume).
   */
  async restore(ch: ClickHouseClient, topicId: string, redo: (position: number) => Promise<number>): Promise<void> {
    const position = await redo(await viewsThrough(ch, this.partition));
    this.topicId = topicId;
    this.rowsTopicId = await this.recordedTopicId(ch, position >= 0);
    this.next = position + 1;
    if (position < 0) return;
    // The same ids an uninterrupted run would hold: the most recent written, in offset order.
    const recent = await queryRows<{ app_id: string; event_id: string }>(
      ch,
      `SELECT app_id, event_id FROM events_rt
       WHERE kafka_partition = {p:UInt16} AND kafka_offset <= {through:UInt64}
       ORDER BY kafka_offset DESC LIMIT ${DEDUP_CAPACITY}`,
      { p: this.partition, through: position },
    );
    for (const r of recent.reverse()) this.seen.remember(r.app_id, r.event_id);
  }

  /**
   * The position again, for a partition this process kept through a rebalance: whether no
   * other member wrote it meanwhile (its state here, the dedup window, is then still right).
   */
  async unchangedSince(ch: ClickHouseClient): Promise<boolean> {
    return (await viewsThrough(ch, this.partition)) === this.next - 1;
  }

  /**
   * Throws when the rows written for this partition cannot be the topic's as it is now: they
   * belong to another topic id (the topic was recreated: offsets from 0 again), or they end past
   * the log's end (truncated). Resuming would skip every message below the old position.
   */
  checkResume(logEnd: number): void {
    if (this.rowsTopicId !== this.topicId) {
      throw this.refused(`its rows in events_rt are of topic id ${this.rowsTopicId}, the topic now has id ${this.topicId} (recreated, or another cluster)`, Math.min(this.next, logEnd));
    }
    if (this.next > logEnd) {
      throw this.refused(`events_rt holds offsets up to ${this.next - 1}, past the end of the log (${logEnd}); the topic was truncated`, logEnd);
    }
  }

  private refused(reason: string, skipped: number): ResumeRefusedError {
    return new ResumeRefusedError(
      this.partition,
      `refusing to resume the speed layer on partition ${this.partition}: ${reason}; ${skipped} messages would be skipped. Remove the partition's rows from speed_progress and speed_topic_ids to start it over`,
      skipped,
    );
  }

  /**
   * The topic id recorded for the partition's rows. The current one is recorded when none is
   * (a fresh partition, or rows written before ids were stored: adopted) or when no rows are
   * left to resume from.
   */
  private async recordedTopicId(ch: ClickHouseClient, hasRows: boolean): Promise<string> {
    const [row] = await queryRows<{ topic_id: string }>(ch, `SELECT argMax(topic_id, at) AS topic_id FROM speed_topic_ids WHERE kafka_partition = {p:UInt16}`, { p: this.partition });
    const recorded = row?.topic_id ?? '';
    if (recorded !== '' && (recorded === this.topicId || hasRows)) return recorded;
    await ch.insert({ table: 'speed_topic_ids', values: [{ kafka_partition: this.partition, topic_id: this.topicId }], format: 'JSONEachRow' });
    return this.topicId;
  }

  /** The first offset the views lack: the next range written starts here. */
  get viewsFrom(): number {
    return this.next;
  }

  /** Stages every message of a batch in offset order; messages below the position are skipped. */
  process(messages: KafkaMessage[]): BatchOutcome {
    const out: BatchOutcome = { rows: new EventsRtRows(), duplicates: 0, forgottenCopies: 0, skipped: 0, undecodable: [] };
    for (const m of messages) {
      const offset = Number(m.offset);
      if (offset < this.next) {
        out.skipped++;
        continue;
      }
      const e = decodeStoredEvent(m.value);
      if (typeof e === 'string') {
        out.undecodable.push({ offset, reason: e });
        continue;
      }
      // identify, group and alias live in the archive only (DESIGN.md section 3a): no row, no
      // view, no duplicate count. Not written, so a restart reads them again and skips them again.
      if (!isCountedType(e.type)) continue;
      const seen = this.seen.remember(e.app_id, e.event_id);
      if (seen === 'duplicate') {
        out.duplicates++;
        continue;
      }
      if (seen === 'forgotten') out.forgottenCopies++;
      out.rows.add(m.value as Buffer, e, this.partition, offset);
    }
    return out;
  }

  /** Called once a batch's flush group is complete: the position moves past its last offset. */
  written(lastOffset: number): void {
    this.next = Math.max(this.next, lastOffset + 1);
  }
}
