/**
 * Writes one Kafka partition's events to the master dataset, exactly once per offset.
 *
 * The resume position lives in the object store next to the files, not in Kafka: per
 * partition a small state object holds `next` (first offset not yet archived) and, while a
 * range is being written, `pending` = that range. The order of writes is
 *   1. state {next, pending: [first, last]}   (intent)
 *   2. the files of [first, last], one per event date (same keys on every retry)
 *   3. state {next: last + 1}
 *   4. Kafka commit last + 1                    (only a hint for where to fetch from)
 * After a crash anywhere, the next owner reads the state: before 1 nothing was written;
 * between 1 and 3 it redoes exactly [first, last], rewriting the same keys with the same
 * content; after 3 it skips what Kafka redelivers below `next`. So no offset is missing
 * and none is in two files, whatever the fetch sizes of the new run.
 *
 * Writes 1 and 3 are compare-and-set on the state's version as this archiver last read or
 * wrote it. A member that stalled past its session timeout has been replaced; if the new owner
 * wrote the state meanwhile, the stale member's write is refused (`PartitionLostError`) instead
 * of putting an old `next` back, which would make the new owner archive ranges a second time.
 * Its files in between are harmless: a pending range is redone with the same keys and bytes.
 */
import type { KafkaMessage } from 'kafkajs';
import type { ObjectStore } from '../../infra/object-store/object-store';
import { archiveKey, archiverStateKey, eventDate } from '../../schemas/archive-layout';
import type { ArchivedEvent } from '../../schemas/event';
import { decodeStoredEvent } from '../../schemas/decode-stored-event';
import { encodeArrowFile } from './arrow-writer';
import { ResumeRefusedError } from '../../infra/kafka/refused-partitions';

export interface PartitionState {
  next: number;
  pending?: { first: number; last: number };
  /** The id of the topic these offsets belong to (see topic-id.ts); absent in older states. */
  topicId?: string;
}

export interface ChunkResult {
  /** Offsets archived by this call (0 when the messages were all below `next`). */
  archived: number;
  files: { key: string; rows: number; bytes: number }[];
  undecodable: { offset: number; reason: string }[];
  /** The offset to commit to Kafka (next to fetch), when something was archived. */
  commit?: number;
}

/** The partition's state changed under this archiver: another member owns the partition now. */
export class PartitionLostError extends Error {
  constructor(readonly partition: number) {
    super(`archiver state of partition ${partition} was written by another member; this member stops writing it`);
    this.name = new.target.name;
  }
}

export class PartitionArchiver {
  private state: PartitionState | undefined;
  /** The state object's version as last read or written; undefined: there was none. */
  private version: string | undefined;
  /** Messages of a pending range being re-read after a crash, until the range is whole. */
  private redo: KafkaMessage[] = [];

  constructor(
    private readonly store: ObjectStore,
    readonly partition: number,
    private readonly topicId: string,
  ) {}

  /** `logEnd`: the partition's high watermark, when known (a stored position past it is refused). */
  async loadState(logEnd?: number): Promise<PartitionState> {
    const obj = await this.store.getVersioned(archiverStateKey(this.partition));
    const state = obj ? (JSON.parse(obj.body.toString('utf8')) as PartitionState) : { next: 0 };
    const below = Math.min(state.next, logEnd ?? state.next);
    if (state.topicId !== undefined && state.topicId !== this.topicId) {
      throw this.refused(`its state was written for topic id ${state.topicId}, the topic now has id ${this.topicId} (recreated, another cluster, or another KAFKA_TOPIC_PREFIX on the same store)`, below);
    }
    if (logEnd !== undefined && state.next > logEnd) {
      throw this.refused(`its state resumes at offset ${state.next}, past the end of the log (${logEnd})`, logEnd);
    }
    this.state = state;
    this.version = obj?.version;
    this.redo = [];
    return state;
  }

  private refused(reason: string, skipped: number): ResumeRefusedError {
    return new ResumeRefusedError(
      this.partition,
      `refusing to resume archiving partition ${this.partition}: ${reason}; ${skipped} messages would be skipped. Move ${archiverStateKey(this.partition)} aside to archive this topic from its start`,
      skipped,
    );
  }

  private async saveState(s: PartitionState): Promise<void> {
    const key = archiverStateKey(this.partition);
    const body = Buffer.from(JSON.stringify({ ...s, topicId: this.topicId }));
    const condition = this.version === undefined ? { ifNoneMatch: true as const } : { ifMatch: this.version };
    const written = await this.store.putIf(key, body, condition);
    let version = written.ok ? written.version : undefined;
    if (!written.ok) {
      // A retry after a put whose answer was lost (timeout, store restart) conflicts with our
      // own write: the state is then exactly what we wrote, and we go on from it.
      const now = await this.store.getVersioned(key);
      if (!now?.body.equals(body)) throw new PartitionLostError(this.partition);
      version = now.version;
    }
    this.state = s;
    this.version = version;
  }

  /** Archives the messages of one fetched batch (offsets ascending); `logEnd` as for loadState. */
  async archive(messages: KafkaMessage[], logEnd?: number): Promise<ChunkResult> {
    const state = this.state ?? (await this.loadState(logEnd));
    const none: ChunkResult = { archived: 0, files: [], undecodable: [] };
    if (state.pending) {
      const { first, last } = state.pending;
      for (const m of messages) {
        const o = Number(m.offset);
        if (o >= first && o <= last && (this.redo.length === 0 || o > Number(this.redo[this.redo.length - 1].offset))) this.redo.push(m);
      }
      const lastSeen = this.redo.length ? Number(this.redo[this.redo.length - 1].offset) : -1;
      // A compacted or truncated log may lack offsets; the range is whole once we reach its end.
      if (lastSeen < last && !(messages.length && Number(messages[messages.length - 1].offset) > last)) return none;
      const chunk = this.redo;
      this.redo = [];
      const r = await this.writeRange(chunk, first, last);
      // Messages of this batch past the redone range are archived as a new range.
      const rest = messages.filter((m) => Number(m.offset) > last);
      if (!rest.length) return r;
      const r2 = await this.archive(rest);
      return { archived: r.archived + r2.archived, files: [...r.files, ...r2.files], undecodable: [...r.undecodable, ...r2.undecodable], commit: r2.commit ?? r.commit };
    }
    const fresh = messages.filter((m) => Number(m.offset) >= state.next);
    if (!fresh.length) return none;
    const first = Number(fresh[0].offset);
    const last = Number(fresh[fresh.length - 1].offset);
    await this.saveState({ next: state.next, pending: { first, last } });
    return this.writeRange(fresh, first, last);
  }

  private async writeRange(chunk: KafkaMessage[], first: number, last: number): Promise<ChunkResult> {
    const byDate = new Map<string, ArchivedEvent[]>();
    const undecodable: ChunkResult['undecodable'] = [];
    for (const m of chunk) {
      const decoded = decodeStoredEvent(m.value);
      if (typeof decoded === 'string') {
        undecodable.push({ offset: Number(m.offset), reason: decoded });
        continue;
      }
      const row: ArchivedEvent = { ...decoded, kafka_partition: this.partition, kafka_offset: Number(m.offset) };
      const d = eventDate(row.ts);
      const rows = byDate.get(d);
      if (rows) rows.push(row);
      else byDate.set(d, [row]);
    }
    const files: ChunkResult['files'] = [];
    for (const [date, rows] of byDate) {
      const key = archiveKey(date, this.partition, first, last);
      const bytes = encodeArrowFile(rows);
      await this.store.put(key, bytes);
      files.push({ key, rows: rows.length, bytes: bytes.length });
    }
    await this.saveState({ next: last + 1 });
    return { archived: chunk.length - undecodable.length, files, undecodable, commit: last + 1 };
  }
}
