/**
 * Partitions a consumer refuses to resume because its stored position cannot belong to the
 * topic as it is now (recreated, another cluster, truncated): resuming would skip messages
 * without a word. Such a partition is paused with a clear error until the next assignment
 * (an operator fixes the stored state, the group rebalances, it is checked again), and
 * reported in `/ready` and `weir_<layer>_refused_skipped_messages`.
 */
import type { Consumer } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger';

export class ResumeRefusedError extends Error {
  constructor(
    readonly partition: number,
    message: string,
    /** Messages of the log as it is now that lie below the stored position. */
    readonly skipped: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface RefusedPartitions {
  refuse(consumer: Consumer, topic: string, err: ResumeRefusedError): void;
  /** At a new assignment: resume them, to be checked again. */
  reset(consumer: Consumer, topic: string): void;
  ready(): Promise<void>;
}

export function createRefusedPartitions(layer: string, registry: Registry, log: Logger): RefusedPartitions {
  const skipped = new Gauge({
    name: `weir_${layer}_refused_skipped_messages`,
    help: 'Messages a partition refused to resume (stored position of another topic, or past the log end) would have skipped',
    labelNames: ['partition'],
    registers: [registry],
  });
  const refused = new Map<number, ResumeRefusedError>();
  return {
    refuse(consumer, topic, err) {
      log.error({ partition: err.partition, skipped: err.skipped }, err.message);
      skipped.set({ partition: String(err.partition) }, err.skipped);
      refused.set(err.partition, err);
      consumer.pause([{ topic, partitions: [err.partition] }]);
    },
    reset(consumer, topic) {
      if (refused.size) consumer.resume([{ topic, partitions: [...refused.keys()] }]);
      refused.clear();
      skipped.reset();
    },
    ready: async () => {
      const first = refused.values().next().value;
      if (first) throw first;
    },
  };
}
