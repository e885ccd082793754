import type { Consumer } from 'kafkajs';
import type { Logger } from '../logger';

/**
 * Commits a consumer group offset that is only a hint of where to fetch from: the archiver and
 * the speed layer resume from what they wrote (object-store state, `events_rt`), and skip what
 * Kafka redelivers below it. So a commit refused during a rebalance or a shutdown ("the
 * coordinator is not aware of this member") loses nothing and must not stop the consumer:
 * the next owner re-fetches from the last accepted commit and skips what was written.
 */
export async function commitHint(consumer: Consumer, topic: string, partition: number, offset: number, log: Logger): Promise<void> {
  try {
    await consumer.commitOffsets([{ topic, partition, offset: String(offset) }]);
  } catch (err) {
    log.warn({ err, topic, partition, offset }, 'offset commit refused; the written position stands');
  }
}
