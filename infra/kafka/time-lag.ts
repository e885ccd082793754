/**
 * Consumer lag in seconds per partition (`weir_<layer>_lag_seconds`): how old the oldest event
 * not yet written is, which is what "the views are N s behind" means to a reader (a lag in
 * messages says nothing without the rate). Computed at scrape time, so a consumer stuck on a
 * batch shows a growing lag rather than the figure of its last success.
 *
 * From Kafka timestamps (the producer's CreateTime): while a batch is being written, its first
 * message; after it, 0 when the partition is at its end, else the last written message, an
 * upper bound off by at most the gap to the next message.
 */
import type { Batch } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';

export interface TimeLag {
  /** A non-empty batch is about to be written. */
  started(batch: Batch): void;
  /** It is written (or was already). */
  written(batch: Batch): void;
  /** After a rebalance: partitions no longer assigned must not report a frozen lag. */
  reset(): void;
}

export function createTimeLag(layer: string, registry: Registry, now: () => number = Date.now): TimeLag {
  /** Partition → timestamp of the oldest message not yet written, or undefined when at the end. */
  const oldestPending = new Map<number, number | undefined>();
  new Gauge({
    name: `weir_${layer}_lag_seconds`,
    help: 'Age of the oldest event not yet written, per assigned partition (0: at the end of the partition)',
    labelNames: ['partition'],
    registers: [registry],
    collect() {
      this.reset();
      const t = now();
      for (const [p, ts] of oldestPending) this.set({ partition: String(p) }, ts === undefined ? 0 : Math.max(0, (t - ts) / 1000));
    },
  });
  return {
    started: (b) => void oldestPending.set(b.partition, Number(b.messages[0].timestamp)),
    written: (b) => {
      const behind = Number(b.highWatermark) - Number(b.lastOffset()) - 1;
      oldestPending.set(b.partition, behind > 0 ? Number(b.messages[b.messages.length - 1].timestamp) : undefined);
    },
    reset: () => oldestPending.clear(),
  };
}
