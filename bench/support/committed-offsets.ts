/**
 * How far a consumer group has committed on a topic, read from the broker as anyone could:
 * the speed bench's end of a timed phase is "every partition committed to the end".
 */
import type { Admin } from 'kafkajs';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface CommittedOffsets {
  /** Messages in the topic (sum of its partitions' high watermarks). */
  topicEnd(): Promise<number>;
  /** Offsets the group has committed, summed over the partitions. */
  committed(groupId: string): Promise<number>;
  /**
   * Polls until the group has committed `end` in total; resolves to the ms it took from `t0`,
   * or to NaN if `failed` settles first (the consumer's process died). Throws after `timeoutS`.
   */
  waitCommitted(groupId: string, end: number, t0: number, failed: Promise<unknown>): Promise<number>;
}

export function committedOffsets(admin: Admin, topic: string, timeoutS: number): CommittedOffsets {
  const committed = async (groupId: string) => {
    const [c] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return c.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  };
  return {
    topicEnd: async () => (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0),
    committed,
    async waitCommitted(groupId, end, t0, failed) {
      let stop = false;
      const poll = (async () => {
        for (;;) {
          if (stop) return Number.NaN;
          const c = await committed(groupId);
          if (c >= end) return performance.now() - t0;
          if (performance.now() - t0 > timeoutS * 1000) throw new Error(`group ${groupId} committed ${c} of ${end} in ${timeoutS} s`);
          await delay(50);
        }
      })();
      try {
        return await Promise.race([poll, failed.then(() => Number.NaN)]);
      } finally {
        stop = true;
      }
    },
  };
}
