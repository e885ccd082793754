/**
 * "A run includes every event the collector acknowledged before the run was requested"
 * (DESIGN.md section 5): at request time the run records the events topic's high watermarks
 * (the collector answers only after Kafka acknowledged, so every acknowledged event lies
 * below them); before reading it waits until the archiver's state objects show every
 * partition archived up to them.
 */
import type { Kafka } from 'kafkajs';
import type { ObjectStore } from '../infra/object-store/object-store';
import { readArchiverStates } from './archive-snapshot';

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

export async function waitForArchive(
  store: ObjectStore,
  watermarks: Watermarks,
  opts: { timeoutMs: number; pollMs?: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const behind = lagging(watermarks, await readArchiverStates(store));
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
