/**
 * Retries a write inside a kafkajs `eachBatch` until it succeeds, with capped exponential
 * backoff: an object store or database outage stalls the partition's batch instead of ending
 * the process (a non-Kafka error thrown from `eachBatch` stops the consumer for good, and in the
 * all-in-one process that would take the collector down too; FIELD-NOTES).
 *
 * While it waits it heartbeats, so the member keeps its partitions and no rebalance hands the
 * batch to a member that would stall the same way. It abandons the batch (resolving to
 * `undefined`, nothing resolved or committed: the batch is fetched again by whoever owns the
 * partition) when the consumer stops or a rebalance made the batch stale.
 */
export interface RetryInBatchOptions {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
  /** Errors that retrying cannot fix: rethrown at once. */
  permanent?: (err: unknown) => boolean;
  /** Called after each failed attempt, before waiting `delayMs` (log, metrics, readiness). */
  onFailure(err: unknown, attempt: number, delayMs: number): void;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** kafkajs sends a heartbeat only once its interval has passed, so calling it often is cheap. */
const HEARTBEAT_SLICE_MS = 500;

export async function retryInBatch<T>(write: () => Promise<T>, o: RetryInBatchOptions): Promise<T | undefined> {
  const base = o.baseDelayMs ?? 200;
  const max = o.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (o.permanent?.(err)) throw err;
      const delayMs = Math.min(max, base * 2 ** (attempt - 1));
      o.onFailure(err, attempt, delayMs);
      for (const until = Date.now() + delayMs; Date.now() < until; ) {
        if (!o.isRunning() || o.isStale()) return undefined;
        await o.heartbeat();
        await new Promise((r) => setTimeout(r, Math.min(HEARTBEAT_SLICE_MS, until - Date.now())));
      }
      if (!o.isRunning() || o.isStale()) return undefined;
    }
  }
}
