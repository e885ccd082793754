/**
 * The speed layer: a consumer group on `events` keeping the real-time views, stream
 * attribution and anti-fraud (DESIGN.md sections 4–6). Scale out by running more instances;
 * partitions are the unit of parallelism.
 *
 * Per partition batch: decide (pure, partition-processor.ts) → written with the batches the
 * other partitions decided at the same moment, as one flush group (group-commit.ts):
 * attributions (idempotent: ReplacingMergeTree by install, and the `attributions` topic, at
 * least once) → one insert into `events_rt`, the resume positions → the views with
 * deduplication tokens, then the progress table → Kafka commit (only a hint). After a crash
 * anywhere, a partition resumes after its last row in `events_rt` and first applies any
 * written group the views lack, so the views neither miss nor double-count an event.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Batch, Consumer, Kafka, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AppRegistry } from '../infra/apps/app-registry';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/logger';
import { CidrSet } from '../schemas/cidr';
import { DAY_MS, type AppRules } from './attribution/attribution-state';
import { createGroupCommit, type PartitionBatch } from './group-commit';
import { PartitionProcessor, withSiblingClicks, type BatchOutcome } from './partition-processor';
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
 * Clients writing a flush group's view inserts side by side: a group has two to four per
 * event date (hourly_rt the largest), and the engine uses a core per statement.
 */
const VIEW_WRITERS = 3;

/** Longest lookback the state keeps clicks for; apps with a longer one are capped (documented). */
const MAX_LOOKBACK_DAYS = 30;

export async function startSpeedLayer(cfg: Pick<Config, 'kafka' | 'ipBlocklist' | 'lookbackDays'> & { groupId?: string }, deps: SpeedDeps): Promise<SpeedHandle> {
  const log = deps.log.child({ layer: 'speed' });
  const m = speedMetrics(deps.registry);
  const globalBlocklist = new CidrSet(cfg.ipBlocklist);
  const blocklists = new Map<string, { src: string[]; set: CidrSet }>();
  /**
   * How far back the partitions' state keeps clicks: the longest lookback of any app (DESIGN.md
   * rule 2, at most 30 days). It starts from the apps registered when a partition is restored
   * and grows as soon as an event of an app with a longer one is decided (before its clicks
   * could be evicted); it never shrinks while the process runs.
   */
  let longestLookbackMs = cfg.lookbackDays * DAY_MS;
  const rulesFor = (appId: string): AppRules => {
    const app = deps.apps.cached(appId);
    const src = app?.ip_blocklist ?? [];
    let b = blocklists.get(appId);
    if (!b || b.src !== src) blocklists.set(appId, (b = { src, set: new CidrSet(src) }));
    const lookbackMs = Math.min(app?.lookback_days ?? cfg.lookbackDays, MAX_LOOKBACK_DAYS) * DAY_MS;
    longestLookbackMs = Math.max(longestLookbackMs, lookbackMs);
    return { lookbackMs, blocklist: b.set, globalBlocklist };
  };
  const registeredLongest = async (): Promise<void> => {
    const apps = await deps.apps.list();
    longestLookbackMs = Math.max(longestLookbackMs, Math.min(Math.max(0, ...apps.map((a) => a.lookback_days)), MAX_LOOKBACK_DAYS) * DAY_MS);
  };

  const consumer: Consumer = deps.kafka.consumer({ groupId: cfg.groupId ?? `${cfg.kafka.topics.events}-speed`, ...SPEED_FETCH });
  const producer: Producer = deps.kafka.producer({ idempotent: false, maxInFlightRequests: 1 });
  /** Each assigned partition's processor of the current join, restored or being restored. */
  const restoring = new Map<number, Promise<PartitionProcessor>>();
  /** The restored ones: what siblingsHold and withSiblingClicks see. */
  const processors = new Map<number, PartitionProcessor>();
  if (deps.stagingDir) await prepareStagingDir(deps.stagingDir);
  const groups = createGroupCommit({ ch: deps.ch, publish, onGroup: (n) => m.groupPartitions.observe(n), stagingDir: deps.stagingDir, pool: deps.concurrent?.(VIEW_WRITERS) });
  const stalled = createStalledPartitions('speed', deps.registry, log);
  const timeLag = createTimeLag('speed', deps.registry);
  const refused = createRefusedPartitions('speed', deps.registry, log);
  const topicId = createJoinTopicId(deps.topicIdOf, cfg.kafka.topics.events);
  let fatal = false;
  let stopping: Promise<void> | undefined;

  const admin = deps.kafka.admin();
  // Whether this member is assigned every partition of the topic (known a moment after each
  // join; false until then): see siblingsHold.
  let assignedAll = false;
  let partitionsAssigned = 0;
  let joins = 0;
  /** Settles once the current join's topic metadata is known and its partitions restored (or failed to). */
  let joinSettled: Promise<unknown> = Promise.resolve();

  await producer.connect();
  await admin.connect();
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // Partitions may have moved: state is restored from what was written, for every assigned
    // partition at once (a partition whose first batch comes later still holds its clicks for
    // the others' probabilistic matches, see siblingsHold).
    restoring.clear();
    processors.clear();
    timeLag.reset();
    refused.reset(consumer, cfg.kafka.topics.events);
    topicId.reset();
    assignedAll = false;
    const join = ++joins;
    const assigned = e.payload.memberAssignment[cfg.kafka.topics.events] ?? [];
    partitionsAssigned = assigned.length;
    const metadata = admin
      .fetchTopicMetadata({ topics: [cfg.kafka.topics.events] })
      .then((md) => {
        if (join === joins) assignedAll = assigned.length > 0 && assigned.length === md.topics[0]?.partitions.length;
      })
      .catch((err: unknown) => log.warn({ err }, 'topic metadata unavailable: probabilistic matches query the written clicks'));
    // A failed restore surfaces in its partition's eachBatch (which awaits the same promise).
    joinSettled = Promise.allSettled([metadata, ...assigned.map((partition) => processorFor(partition))]);
    log.info({ assignment: e.payload.memberAssignment }, 'joined group');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });
  await consumer.subscribe({ topic: cfg.kafka.topics.events, fromBeginning: true });

  /**
   * Whether every other partition's clicks from `from` on are in this process's memory: every
   * partition of the topic is assigned here, has its processor (restored from what was
   * written, so it holds every written click in its span), and holds clicks back to `from`.
   * Then the written clicks can add nothing to withSiblingClicks and their query is skipped.
   */
  function siblingsHold(self: PartitionProcessor, from: number): boolean {
    if (!assignedAll) return false;
    let held = 0;
    for (const q of processors.values()) {
      if (q !== self && q.ipClickHorizon > from) return false;
      held++;
    }
    return held === partitionsAssigned;
  }

  /** The partition's processor of the current join, restored from ClickHouse once: at the join, or after a failed batch dropped it. */
  function processorFor(partition: number): Promise<PartitionProcessor> {
    let restored = restoring.get(partition);
    if (restored) return restored;
    restored = (async () => {
      await registeredLongest();
      const p = new PartitionProcessor(partition, rulesFor, () => longestLookbackMs);
      const end = m.restoreSeconds.startTimer({ partition: String(partition) });
      await p.restore(deps.ch, await topicId.get());
      end();
      // Still this join's and not dropped meanwhile (a join clears `restoring`).
      if (restoring.get(partition) === restored) processors.set(partition, p);
      return p;
    })();
    restoring.set(partition, restored);
    restored.catch(() => {
      if (restoring.get(partition) === restored) restoring.delete(partition);
    });
    return restored;
  }

  /** Forgets a partition's processor: the next batch restores it from what was written. */
  function dropProcessor(partition: number): void {
    restoring.delete(partition);
    processors.delete(partition);
  }

  await consumer.run({
    // Partitions are independent (one processor each, kafkajs keeps each partition's batches
    // in order): every partition of a fetch is decided at once, so that their batches are
    // written as one group.
    partitionsConsumedConcurrently: 64,
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      timeLag.started(batch);
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
        stalled.cleared(batch.partition);
      }
      if (last === undefined) return; // abandoned: stopping or rebalanced
      await commitHint(consumer, batch.topic, batch.partition, last + 1, log);
      resolveOffset(batch.lastOffset());
      timeLag.written(batch);
      await heartbeat();
    },
  });

  /** Decides and writes one partition batch; resolves to its last offset. */
  async function writeBatch(batch: Batch): Promise<number> {
    try {
      const p = await processorFor(batch.partition);
      p.checkResume(Number(batch.highWatermark));
      // Until every partition of the join is restored, its clicks are neither in memory nor
      // skippable (siblingsHold): the first batches wait for the restores, which the engine
      // runs one at a time anyway.
      await joinSettled;
      const now = Date.now();
      const written = await p.foreignClicksFor(deps.ch, batch.messages, (from) => siblingsHold(p, from), (result) => m.foreignLookups.inc({ result }));
      const foreign = withSiblingClicks(written, p, () => processors.values());
      const out = p.process(batch.messages, now, foreign);
      const end = m.flushSeconds.startTimer();
      await groups.submit({ partition: batch.partition, first: p.viewsFrom, out });
      const last = Number(batch.lastOffset());
      p.written(last, out.rows.count > 0 ? out.rows.lastOffset : undefined);
      end();
      record(out, batch.partition, batch.highWatermark, last, p);
      return last;
    } catch (err) {
      // The processor has decided the batch (recent ids, clicks, installs) but it may not all
      // be written: a retry of the batch with that state would drop its events as duplicates.
      // Start the partition over from what ClickHouse holds.
      dropProcessor(batch.partition);
      throw err;
    }
  }

  async function publish(batches: readonly PartitionBatch[]): Promise<void> {
    const attributions = batches.flatMap((b) => b.out.attributions);
    if (attributions.length) {
      await producer.send({
        topic: cfg.kafka.topics.attributions,
        acks: -1,
        messages: attributions.map((a) => ({ key: `${a.app_id}:${a.device_id}`, value: JSON.stringify({ ...a, source: 'speed' }) })),
      });
    }
    const undecodable = batches.flatMap((b) => b.out.undecodable.map((u) => ({ source: 'speed', partition: b.partition, offset: u.offset, reason: u.reason })));
    if (undecodable.length) {
      await producer.send({ topic: cfg.kafka.topics.dlq, acks: -1, messages: undecodable.map((u) => ({ value: JSON.stringify(u) })) });
    }
  }

  function record(out: BatchOutcome, partition: number, highWatermark: string, last: number, p: PartitionProcessor): void {
    const labels = { partition: String(partition) };
    m.events.inc(out.rows.count);
    m.duplicates.inc(out.duplicates);
    m.forgottenCopies.inc(out.forgottenCopies);
    m.lateClicks.inc(out.lateClicks);
    m.lag.set(labels, Math.max(0, Number(highWatermark) - last - 1));
    for (const r of out.rejections) m.fraud.inc({ channel: r.channel, reason: r.reason });
    for (const a of out.attributions) m.installs.inc({ outcome: a.outcome });
    const queryableAt = Date.now();
    for (const receivedAt of out.rows.receivedAt) m.freshness.observe((queryableAt - receivedAt) / 1000);
    const size = p.stateSize;
    m.stateClicks.set(labels, size.clicks);
    m.stateInstalls.set(labels, size.firstInstalls);
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
        await producer.disconnect();
        await admin.disconnect();
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
    foreignLookups: new Counter({
      name: 'weir_speed_foreign_click_lookups_total',
      help: "Probabilistic-match lookups of other partitions' clicks: queried from ClickHouse, or held in this process's memory (every partition assigned here)",
      labelNames: ['result'],
      registers,
    }),
    restoreSeconds: new Histogram({ name: 'weir_speed_state_restore_seconds', help: 'Time to restore a partition\'s state from ClickHouse', labelNames: ['partition'], registers }),
    stateClicks: new Gauge({ name: 'weir_speed_state_clicks', help: 'Clicks held in attribution state', labelNames: ['partition'], registers }),
    stateInstalls: new Gauge({ name: 'weir_speed_state_first_installs', help: 'First installs held in attribution state', labelNames: ['partition'], registers }),
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
