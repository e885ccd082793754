/**
 * Which partitions of a consumer are stalled on a failing write (see retry-in-batch.ts), for
 * the metrics and `/ready`: a process that stays up through an outage must still say that it
 * is not making progress.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger';

export interface StalledPartitions {
  /** Records a failed attempt (pass as retryInBatch's onFailure, bound to the partition). */
  failed(partition: number, err: unknown, attempt: number, delayMs: number): void;
  /** The partition's batch got through, or was abandoned: no longer stalled. */
  cleared(partition: number): void;
  /** For `/ready`: throws while any partition is stalled. */
  ready(): Promise<void>;
}

/** `layer` names the metrics: `weir_<layer>_write_failures_total`, `weir_<layer>_stalled_partitions`. */
export function createStalledPartitions(layer: string, registry: Registry, log: Logger): StalledPartitions {
  const failures = new Counter({ name: `weir_${layer}_write_failures_total`, help: 'Failed attempts to write a partition batch (retried with backoff)', registers: [registry] });
  const gauge = new Gauge({ name: `weir_${layer}_stalled_partitions`, help: 'Partitions whose current batch keeps failing to be written', registers: [registry] });
  const stalled = new Map<number, Error>();
  return {
    failed(partition, err, attempt, delayMs) {
      failures.inc();
      stalled.set(partition, err as Error);
      gauge.set(stalled.size);
      log.warn({ err, partition, attempt, delayMs }, 'batch write failed; retrying');
    },
    cleared(partition) {
      if (!stalled.delete(partition)) return;
      gauge.set(stalled.size);
      log.info({ partition }, 'batch writes recovered');
    },
    ready: async () => {
      const [partition, err] = stalled.entries().next().value ?? [];
      if (err) throw new Error(`writing partition ${partition} keeps failing (${stalled.size} stalled): ${err.message}`, { cause: err });
    },
  };
}
