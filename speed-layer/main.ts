/**
 * The speed layer: a consumer group on `events` keeping the real-time views, stream
 * attribution and anti-fraud (DESIGN.md sections 4–6). Scale out by running more instances;
 * partitions are the unit of parallelism.
 *
 * Per partition batch: decode and dedup (partition-processor.ts) → staged with the batches the
 * other partitions staged at the same moment, as one flush group, and decided by the rules in
 * SQL over the state in ClickHouse (group-commit.ts, rules/) → Kafka commit (only a hint). The
 * process keeps no attribution state: after a crash anywhere, a partition resumes from its
 * position and first completes the group a crash interrupted, so the views neither miss nor
 * double-count an event. A member claims its partitions at each join, and every write carries
 * the claim (partition-owners.ts): one that lost them writes nothing.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Batch, Consumer, Kafka, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AppRegistry } from '../infra/apps/app-registry';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/logger';
import { appRuleParams, type AppRuleParams, type AppRuleSettings } from '../rules/app-rules';
import { normaliseCidrs } from '../rules/cidrs';
import { createGroupCommit, redoUnapplied, type GroupCommitDeps, type GroupDone, type PartitionBatch, type StreamDecision } from './group-commit';
import { claimPartition, latestClaim, newClaim, type Claim } from './partition-owners';
import { PartitionProcessor, type BatchOutcome } from './partition-processor';
import { commitHint } from '../infra/kafka/commit-hint';
import { createTopNCounter } from '../infra/top-n-labels';
import { retryInBatch } from '../infra/kafka/retry-in-batch';
import { createStalledPartitions } from '../infra/kafka/stalled-partitions';
import { createRefusedPartitions, ResumeRefusedError } from '../infra/kafka/refused-partitions';
import { createTimeLag } from '../infra/kafka/time-lag';
import { createJoinTopicId, type TopicIdOf } from '../infra/kafka/topic-id';

export interface SpeedHandle {
  stop(): Promise<void>;
  healthy(): boolean;
  /** For `/ready`: throws while a partition's writes keep failing (ClickHouse down). */
  ready(): Promise<void>;
}

export interface SpeedDeps {
  kafka: Kafka;
  ch: ClickHouseClient;
  apps: AppRegistry;
  registry: Registry;
  log: Logger;
  onFatal: (err: Error) => void;
  /** The topic's current id, recorded with each partition's rows and checked when it resumes. */
  topicIdOf: TopicIdOf;
  /** With the embedded ClickHouse: where events_rt rows are staged as files for file() (see group-commit.ts). */
  stagingDir?: string;
  /** `n` clients whose statements run side by side (ClickHouseHandle.concurrent), for the view inserts; without it, `ch` writes them one by one. */
  concurrent?: (n: number) => ClickHouseClient[];
}

/** How the speed layer's consumer fetches (also the speed bench's baseline and floor, so that they differ from it only in work). */
export const SPEED_FETCH = {
  maxWaitTimeInMs: 100,
  // Every statement costs milliseconds in the engine whatever its size, so a partition that
  // fell behind catches up in large batches (a batch takes what is there, up to this cap;
  // at a steady rate they stay small and fresh): 5000-event batches ran at half the rate
  // of 20000-event ones.
  maxBytes: 64 * 1024 * 1024,
  maxBytesPerPartition: 16 * 1024 * 1024,
  sessionTimeout: 10_000,
  heartbeatInterval: 1000,
} as const;

/**
 * Clients writing a flush group's inserts side by side: a group has four state inserts, then
 * two to four view inserts per event date (hourly_rt the largest), and the engine uses a core
 * per statement.
 */
const VIEW_WRITERS = 3;

export async function startSpeedLayer(cfg: Pick<Config, 'kafka' | 'ipBlocklist' | 'lookbackDays'> & { groupId?: string }, deps: SpeedDeps): Promise<SpeedHandle> {
  const log = deps.log.child({ layer: 'speed' });
  const m = speedMetrics(deps.registry);
  const normalised = new WeakMap<readonly string[], string[]>();
  /** normaliseCidrs once per list: an app's list is the same array until the registry reloads it. */
  const normalise = (list: readonly string[], what: string): string[] => {
    let n = normalised.get(list);
    if (!n) normalised.set(list, (n = normaliseCidrs(list, what)));
    return n;
  };
  const ruleParams = async (appIds: ReadonlySet<string>): Promise<AppRuleParams> => {
    const apps: AppRuleSettings[] = [];
    for (const id of appIds) {
      const app = deps.apps.cached(id) ?? (await deps.apps.get(id));
      if (app) apps.push(app);
    }
    return appRuleParams(apps, { lookbackDays: cfg.lookbackDays, ipBlocklist: cfg.ipBlocklist }, normalise);
  };

  const consumer: Consumer = deps.kafka.consumer({ groupId: cfg.groupId ?? `${cfg.kafka.topics.events}-speed`, ...SPEED_FETCH });
  const producer: Producer = deps.kafka.producer({ idempotent: false, maxInFlightRequests: 1 });
  /** Each assigned partition's processor, restored or being restored, for the current join. */
  const restoring = new Map<number, Promise<PartitionProcessor>>();
  /** The restored ones, kept through a rebalance that leaves them here (see GROUP_JOIN). */
  const processors = new Map<number, PartitionProcessor>();
  /** This member's claim of each partition it holds (fencing: partition-owners.ts), and its write. */
  const claims = new Map<number, { claim: Claim; made: Promise<void> }>();
  /** Each held partition's last flush group, settled once complete (or failed). */
  const settled = new Map<number, Promise<void>>();
  /** Never written: the fence of a partition without a claim here holds nothing. */
  const NO_CLAIM = newClaim();
  if (deps.stagingDir) await prepareStagingDir(deps.stagingDir);
  const groupDeps: GroupCommitDeps = {
    ch: deps.ch,
    sendUndecodable,
    sendDecisions,
    ruleParams,
    claimOf: (partition) => claims.get(partition)?.claim ?? NO_CLAIM,
    onGroup: (g) => recordGroup(g),
    stagingDir: deps.stagingDir,
    pool: deps.concurrent?.(VIEW_WRITERS),
  };
  const groups = createGroupCommit(groupDeps);
  const stalled = createStalledPartitions('speed', deps.registry, log);
  const timeLag = createTimeLag('speed', deps.registry);
  const refused = createRefusedPartitions('speed', deps.registry, log);
  const topicId = createJoinTopicId(deps.topicIdOf, cfg.kafka.topics.events);
  let fatal = false;
  let stopping: Promise<void> | undefined;

  await producer.connect();
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // Only the partitions that moved here are restored (they read a position) and claimed: a
    // partition this process held keeps its processor and claim, unless another member claimed
    // or wrote it meanwhile.
    const kept = new Map(processors);
    restoring.clear();
    processors.clear();
    timeLag.reset();
    refused.reset(consumer, cfg.kafka.topics.events);
    topicId.reset();
    const assigned = e.payload.memberAssignment[cfg.kafka.topics.events] ?? [];
    for (const partition of [...claims.keys()]) if (!assigned.includes(partition)) claims.delete(partition);
    for (const partition of assigned) {
      const p = kept.get(partition);
      // A failure surfaces in the partition's eachBatch, which awaits the same promise.
      track(partition, p ? keepOrRestore(partition, p) : restore(partition, true)).catch(() => undefined);
    }
    log.info({ assignment: e.payload.memberAssignment, kept: assigned.filter((p) => kept.has(p)) }, 'joined group');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });
  await consumer.subscribe({ topic: cfg.kafka.topics.events, fromBeginning: true });

  /** Claims a partition anew: every write under an earlier claim of it is fenced from now on. */
  function claim(partition: number): Promise<void> {
    const c = newClaim();
    const made = claimPartition(deps.ch, c, partition);
    claims.set(partition, { claim: c, made });
    return made;
  }

  /**
   * A partition this process held before the join: kept when its last group has settled, its
   * claim is still the latest and its position is where this process left it.
   */
  async function keepOrRestore(partition: number, p: PartitionProcessor): Promise<PartitionProcessor> {
    await settled.get(partition);
    const held = claims.get(partition);
    const stillHeld = held !== undefined && (await held.made.then(() => true, () => false)) && (await latestClaim(deps.ch, partition)) === held.claim.id;
    if (stillHeld && (await p.unchangedSince(deps.ch))) {
      m.restores.inc({ kind: 'kept' });
      return p;
    }
    return restore(partition, true);
  }

  /** The partition's processor of the current join, restored from ClickHouse once: at the join, or after a failed batch dropped it. */
  function processorFor(partition: number): Promise<PartitionProcessor> {
    return restoring.get(partition) ?? track(partition, restore(partition, false));
  }

  /**
   * `claimIt`: at a join (the partition moved here, or changed meanwhile). A restore after a
   * failed batch keeps the join's claim: a member whose partitions were taken must not claim
   * them back before the group has given them to it again.
   */
  async function restore(partition: number, claimIt: boolean): Promise<PartitionProcessor> {
    const held = claims.get(partition);
    await (claimIt || !held ? claim(partition) : held.made);
    const p = new PartitionProcessor(partition);
    const end = m.restoreSeconds.startTimer();
    await p.restore(deps.ch, await topicId.get(), (position) => redoUnapplied(groupDeps, partition, position));
    end();
    m.restores.inc({ kind: 'restored' });
    return p;
  }

  function track(partition: number, restored: Promise<PartitionProcessor>): Promise<PartitionProcessor> {
    restoring.set(partition, restored);
    restored.then(
      (p) => {
        // Still this join's and not dropped meanwhile (a join clears `restoring`).
        if (restoring.get(partition) === restored) processors.set(partition, p);
      },
      () => {
        if (restoring.get(partition) === restored) restoring.delete(partition);
      },
    );
    return restored;
  }

  /** Forgets a partition's processor: the next batch restores it from what was written. */
  function dropProcessor(partition: number): void {
    restoring.delete(partition);
    processors.delete(partition);
  }

  await consumer.run({
    // Partitions are independent (one processor each, kafkajs keeps each partition's batches
    // in order): every partition of a fetch is staged at once, so that their batches are
    // written as one group.
    partitionsConsumedConcurrently: 64,
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      timeLag.started(batch);
      // Heartbeats go on while the partition is restored or its group written, however long
      // that takes: a member silent past the session timeout would be evicted and the
      // rebalance start over (kafkajs sends at most one per heartbeatInterval).
      const beating = setInterval(() => void heartbeat().catch(() => undefined), SPEED_FETCH.heartbeatInterval);
      let last: number | undefined;
      try {
        last = await retryInBatch(() => writeBatch(batch), {
          heartbeat,
          isRunning,
          isStale,
          // Kafka errors are retried by kafkajs (the batch is fetched again).
          permanent: (err) => isKafkaError(err) || err instanceof ResumeRefusedError,
          onFailure: (err, attempt, delayMs) => stalled.failed(batch.partition, err, attempt, delayMs),
        });
      } catch (err) {
        if (err instanceof ResumeRefusedError) return refused.refuse(consumer, batch.topic, err);
        throw err;
      } finally {
        clearInterval(beating);
        stalled.cleared(batch.partition);
      }
      if (last === undefined) return; // abandoned: stopping or rebalanced
      resolveOffset(batch.lastOffset());
      timeLag.written(batch);
      await heartbeat();
    },
  });

  /**
   * Stages one partition batch with its flush group; resolves to its last offset once the
   * group's decisions and state are written, so that the partition's next batch can be decided
   * while this group's views are written. The commit (a hint) follows once the group is
   * complete; a group that fails then is completed by the partition's restore (its intent is
   * recorded), which starts at once.
   */
  async function writeBatch(batch: Batch): Promise<number> {
    try {
      const p = await processorFor(batch.partition);
      p.checkResume(Number(batch.highWatermark));
      const out = p.process(batch.messages);
      const end = m.flushSeconds.startTimer();
      const gates = groups.submitInSteps({ partition: batch.partition, first: p.viewsFrom, out });
      settled.set(batch.partition, gates.done.catch(() => undefined)); // the failure is handled below, once the state is written
      await gates.state;
      const last = Number(batch.lastOffset());
      p.written(last);
      gates.done.then(
        async () => {
          end();
          record(out, batch.partition, batch.highWatermark, last);
          // Stopped meanwhile: the consumer commits no more (the written position stands).
          if (!stopping) await commitHint(consumer, batch.topic, batch.partition, last + 1, log);
        },
        (err: unknown) => {
          log.warn({ err, partition: batch.partition }, 'flush group failed after its state was written; restoring the partition completes it');
          if (!stopping && processors.get(batch.partition) === p) {
            dropProcessor(batch.partition);
            void processorFor(batch.partition).catch(() => undefined);
          }
        },
      );
      return last;
    } catch (err) {
      // The processor has taken the batch's ids into its dedup window, but they may not all
      // be written: a retry of the batch with that window would drop its events as
      // duplicates. Start the partition over from what ClickHouse holds.
      dropProcessor(batch.partition);
      throw err;
    }
  }

  async function sendUndecodable(batches: readonly PartitionBatch[]): Promise<void> {
    const undecodable = batches.flatMap((b) => b.out.undecodable.map((u) => ({ source: 'speed', partition: b.partition, offset: u.offset, reason: u.reason })));
    if (undecodable.length) {
      await producer.send({ topic: cfg.kafka.topics.dlq, acks: -1, messages: undecodable.map((u) => ({ value: JSON.stringify(u) })) });
    }
  }

  async function sendDecisions(decisions: readonly StreamDecision[]): Promise<void> {
    if (decisions.length === 0) return;
    await producer.send({
      topic: cfg.kafka.topics.attributions,
      acks: -1,
      messages: decisions.map((a) => ({ key: `${a.app_id}:${a.device_id}`, value: JSON.stringify({ ...a, source: 'speed' }) })),
    });
  }

  function recordGroup(g: GroupDone & { partitions: number }): void {
    m.groupPartitions.observe(g.partitions);
    m.events.inc(g.events);
    m.lateClicks.inc(g.lateClicks);
    for (const d of g.decisions) {
      m.installs.inc({ outcome: d.outcome });
      if (d.fraud_reason) m.fraud.inc({ channel: d.channel, reason: d.fraud_reason });
    }
  }

  function record(out: BatchOutcome, partition: number, highWatermark: string, last: number): void {
    const labels = { partition: String(partition) };
    m.duplicates.inc(out.duplicates);
    m.forgottenCopies.inc(out.forgottenCopies);
    m.lag.set(labels, Math.max(0, Number(highWatermark) - last - 1));
    const queryableAt = Date.now();
    for (const receivedAt of out.rows.receivedAt) m.freshness.observe((queryableAt - receivedAt) / 1000);
  }

  function fail(err: Error) {
    // A consumer stopped on purpose reports its interrupted fetch as a crash: not a failure.
    if (fatal || stopping) return;
    fatal = true;
    log.error({ err }, 'speed layer stopped');
    deps.onFatal(err);
  }

  return {
    stop: () =>
      (stopping ??= (async () => {
        await consumer.disconnect();
        // The last groups' views and positions, still being written: a stop drains them (a
        // process killed instead has its next owner complete them).
        await Promise.all(settled.values());
        await producer.disconnect();
      })()),
    healthy: () => !fatal && !stopping,
    ready: async () => {
      await stalled.ready();
      await refused.ready();
    },
  };
}

function isKafkaError(err: unknown): boolean {
  return Boolean((err as { retriable?: boolean }).retriable) || Boolean((err as Error).name?.startsWith('KafkaJS'));
}

function speedMetrics(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({ name: 'weir_speed_events_total', help: 'Events written to the speed views', registers }),
    duplicates: new Counter({ name: 'weir_speed_duplicates_total', help: 'Copies of an already seen (app_id, event_id) left out of the speed views', registers }),
    forgottenCopies: new Counter({
      name: 'weir_speed_duplicates_beyond_window_total',
      help: 'Copies of an (app_id, event_id) counted again in the speed views because the id had left the 500 000-id dedup window (estimate; docs/semantics.md)',
      registers,
    }),
    lateClicks: new Counter({ name: 'weir_speed_late_clicks_total', help: 'Clicks that arrived after an install they could have won: batch may decide that install differently', registers }),
    lag: new Gauge({ name: 'weir_speed_consumer_lag', help: 'Messages behind the end of the partition after the last batch', labelNames: ['partition'], registers }),
    flushSeconds: new Histogram({ name: 'weir_speed_flush_seconds', help: 'Time from a partition batch decided to written and in the views (its flush group included)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
    groupPartitions: new Histogram({ name: 'weir_speed_flush_group_partitions', help: 'Partitions whose batches one flush group wrote together', buckets: [1, 2, 4, 8, 16, 32, 64], registers }),
    freshness: new Histogram({ name: 'weir_speed_freshness_seconds', help: 'Collector receive time to queryable in the speed views', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers }),
    restoreSeconds: new Histogram({
      name: 'weir_speed_state_restore_seconds',
      help: "Time to restore a partition: its position read, an interrupted flush group completed, its dedup window refilled",
      registers,
    }),
    restores: new Counter({ name: 'weir_speed_partition_restores_total', help: 'Partitions taken at a group join: restored, or kept (held here before and written by nobody else meanwhile)', labelNames: ['kind'], registers }),
    // `channel` is whatever the tenants' clicks say: bounded to the top N plus `other`.
    fraud: createTopNCounter({ name: 'weir_speed_fraud_rejections_total', help: 'First installs rejected as fraud, by channel (top N, the rest as other) and reason', labelNames: ['channel', 'reason'], bounded: 'channel', registers }),
    installs: new Counter({ name: 'weir_speed_first_installs_total', help: 'First installs decided by the stream', labelNames: ['outcome'], registers }),
  };
}

/**
 * Creates the staging directory and removes files a killed process left there. Each insert
 * removes its own file within seconds, so a file older than this is no live insert's.
 */
const STALE_STAGING_MS = 10 * 60_000;
async function prepareStagingDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_STAGING_MS) await rm(file, { force: true });
  }
}
