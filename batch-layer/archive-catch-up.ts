/**
 * "A run includes every event the collector acknowledged before the run was requested"
 * (DESIGN.md section 5): at request time the run records the events topic's high watermarks
 * (the collector answers only after Kafka acknowledged, so every acknowledged event lies
 * below them); before reading it waits until the archiver's state objects show every
 * partition archived up to them.
 */
import type { Kafka } from 'kafkajs';
import type { ObjectStore } from '../infra/object-store/object-store';
import { readArchiverPositions } from './archive-snapshot';

export type Watermarks = Record<string, number>;

export async function highWatermarks(kafka: Kafka, topic: string): Promise<Watermarks> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return Object.fromEntries(offsets.map((o) => [String(o.partition), Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Partitions still behind: `[partition, archived next, needed]`. */
export function lagging(watermarks: Watermarks, next: ReadonlyMap<number, number>): [number, number, number][] {
  return Object.entries(watermarks)
    .map(([p, high]): [number, number, number] => [Number(p), next.get(Number(p)) ?? 0, high])
    .filter(([, archived, high]) => archived < high);
}

/**
 * `topicId`: the events topic's id now. Offsets compare only within one topic id: after the
 * topic was deleted and created again its high watermarks start again at 0, below the
 * positions the archiver stored for the old topic, and the archive would look caught up while
 * the new topic's events were never archived (the archiver refuses to resume them). So a
 * position written for another topic id fails the run at once, saying why.
 */
export async function waitForArchive(
  store: ObjectStore,
  watermarks: Watermarks,
  opts: { timeoutMs: number; pollMs?: number; signal?: AbortSignal; topicId?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const positions = await readArchiverPositions(store);
    const foreign = [...positions].filter(([, s]) => opts.topicId && s.topicId && s.topicId !== opts.topicId);
    if (foreign.length) {
      throw new Error(
        `the archive's positions of partitions ${foreign.map(([p]) => p).join(', ')} were written for topic id ${foreign[0][1].topicId}, ` +
          `the events topic now has id ${opts.topicId} (recreated, another cluster, or another KAFKA_TOPIC_PREFIX on the same store): ` +
          `the archive cannot be shown to hold the events acknowledged before the run, and the archiver refuses to resume this topic (see its /ready)`,
      );
    }
    const behind = lagging(watermarks, new Map([...positions].map(([p, s]) => [p, s.next])));
    if (behind.length === 0) return;
    if (Date.now() >= deadline) {
      const detail = behind.map(([p, archived, high]) => `partition ${p} archived below offset ${archived}, needs ${high}`).join('; ');
      throw new Error(
        `the archive did not catch up with the events acknowledged before the run was requested within ${Math.round(opts.timeoutMs / 1000)} s ` +
          `(${detail}); is the archiver running?`,
      );
    }
    opts.signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
