/**
 * The archiver: a consumer group on `events` writing the master dataset (Arrow files in
 * object storage). See partition-archiver.ts for how each offset is archived exactly once.
 */
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../infra/logger';
import type { ObjectStore } from '../../infra/object-store/object-store';
import type { Topics } from '../../schemas/topics';
import { PartitionArchiver, PartitionLostError, type ChunkResult } from './partition-archiver';
import { createRefusedPartitions, ResumeRefusedError } from '../../infra/kafka/refused-partitions';
import { commitHint } from '../../infra/kafka/commit-hint';
import { retryInBatch } from '../../infra/kafka/retry-in-batch';
import { createStalledPartitions } from '../../infra/kafka/stalled-partitions';
import { createTimeLag } from '../../infra/kafka/time-lag';
import { createJoinTopicId, type TopicIdOf } from '../../infra/kafka/topic-id';

export interface ArchiverConfig {
  groupId: string;
  topics: Topics;
  /** Fetch sizes decide file sizes: one file per partition batch and event date. */
  maxBytesPerPartition?: number;
  maxWaitTimeInMs?: number;
  minBytes?: number;
}

export interface ArchiverDeps {
  kafka: Kafka;
  store: ObjectStore;
  registry: Registry;
  log: Logger;
  /** Called when the archiver cannot go on (its consumer crashed for good). */
  onFatal: (err: Error) => void;
  /** The topic's current id, stored with every position and checked when a partition resumes. */
  topicIdOf: TopicIdOf;
}

export interface ArchiverHandle {
  stop(): Promise<void>;
  healthy(): boolean;
  /** For `/ready`: throws while a partition's writes keep failing (the object store is down). */
  ready(): Promise<void>;
}

export async function startArchiver(cfg: ArchiverConfig, deps: ArchiverDeps): Promise<ArchiverHandle> {
  const log = deps.log.child({ layer: 'ingest', component: 'archiver' });
  const events = new Counter({ name: 'weir_archiver_events_total', help: 'Events written to the master dataset', registers: [deps.registry] });
  const bytes = new Counter({ name: 'weir_archiver_bytes_total', help: 'Arrow bytes written to the master dataset', registers: [deps.registry] });
  const filesWritten = new Counter({ name: 'weir_archiver_files_total', help: 'Archive files written', registers: [deps.registry] });
  const deadLettered = new Counter({ name: 'weir_archiver_dead_lettered_total', help: 'Undecodable messages sent to the DLQ', registers: [deps.registry] });
  const flushSeconds = new Histogram({ name: 'weir_archiver_flush_seconds', help: 'Time to write one partition batch', registers: [deps.registry] });
  const partitionsLost = new Counter({ name: 'weir_archiver_partitions_lost_total', help: 'Partitions whose state another member wrote while this one held them (a lapsed member fenced off)', registers: [deps.registry] });
  const nextOffset = new Gauge({ name: 'weir_archiver_next_offset', help: 'First offset not yet archived, per partition', labelNames: ['partition'], registers: [deps.registry] });

  const consumer: Consumer = deps.kafka.consumer({
    groupId: cfg.groupId,
    maxBytesPerPartition: cfg.maxBytesPerPartition ?? 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    minBytes: cfg.minBytes ?? 1024 * 1024,
    maxWaitTimeInMs: cfg.maxWaitTimeInMs ?? 2000,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  const dlq: Producer = deps.kafka.producer({ idempotent: false, maxInFlightRequests: 1 });
  const archivers = new Map<number, PartitionArchiver>();
  const stalled = createStalledPartitions('archiver', deps.registry, log);
  const timeLag = createTimeLag('archiver', deps.registry);
  let fatal = false;
  let stopping: Promise<void> | undefined;

  await dlq.connect();
  await consumer.connect();
  /** Partitions paused until the next assignment because another member took them. */
  const lost = new Set<number>();
  const refused = createRefusedPartitions('archiver', deps.registry, log);
  const topicId = createJoinTopicId(deps.topicIdOf, cfg.topics.events);
  // After a rebalance another member may have archived our partitions: re-read their state
  // (and the topic's id: it may have been recreated meanwhile).
  consumer.on(consumer.events.GROUP_JOIN, () => {
    archivers.clear();
    timeLag.reset();
    topicId.reset();
    if (lost.size) consumer.resume([{ topic: cfg.topics.events, partitions: [...lost] }]);
    lost.clear();
    refused.reset(consumer, cfg.topics.events);
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });
  await consumer.subscribe({ topic: cfg.topics.events, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      timeLag.started(batch);
      const p = batch.partition;
      const end = flushSeconds.startTimer();
      let result;
      try {
        result = await retryInBatch<ChunkResult>(
          async () => {
            let archiver = archivers.get(p);
            if (!archiver) archivers.set(p, (archiver = new PartitionArchiver(deps.store, p, await topicId.get())));
            try {
              return await archiver.archive(batch.messages, Number(batch.highWatermark));
            } catch (err) {
              // Where the failed write stopped is unknown: re-read the state next time, as the
              // next owner would after a crash at that point.
              archivers.delete(p);
              throw err;
            }
          },
          {
            heartbeat,
            isRunning,
            isStale,
            permanent: (err) => err instanceof PartitionLostError || err instanceof ResumeRefusedError,
            onFailure: (err, attempt, delayMs) => stalled.failed(p, err, attempt, delayMs),
          },
        );
      } catch (err) {
        stalled.cleared(p);
        archivers.delete(p);
        if (err instanceof ResumeRefusedError) return refused.refuse(consumer, batch.topic, err);
        if (!(err instanceof PartitionLostError)) throw err;
        // This member lapsed and the partition moved on without it: stop writing it (no
        // resolve, no commit) until the group assigns partitions again.
        log.warn({ partition: p }, err.message);
        partitionsLost.inc();
        lost.add(p);
        consumer.pause([{ topic: batch.topic, partitions: [p] }]);
        return;
      }
      stalled.cleared(p);
      if (!result) return; // abandoned: stopping or rebalanced
      end();
      if (result.undecodable.length) {
        await dlq.send({
          topic: cfg.topics.dlq,
          acks: -1,
          messages: result.undecodable.map((u) => ({ value: JSON.stringify({ source: 'archiver', partition: p, offset: u.offset, reason: u.reason }) })),
        });
        deadLettered.inc(result.undecodable.length);
      }
      if (result.commit !== undefined) {
        events.inc(result.archived);
        filesWritten.inc(result.files.length);
        bytes.inc(result.files.reduce((a, f) => a + f.bytes, 0));
        nextOffset.set({ partition: String(p) }, result.commit);
        log.debug({ partition: p, commit: result.commit, files: result.files.length, rows: result.archived }, 'archived range');
        await commitHint(consumer, batch.topic, p, result.commit, log);
      }
      resolveOffset(batch.lastOffset());
      timeLag.written(batch);
      await heartbeat();
    },
  });

  function fail(err: Error) {
    // A consumer stopped on purpose reports its interrupted fetch as a crash: not a failure.
    if (fatal || stopping) return;
    fatal = true;
    log.error({ err }, 'archiver stopped');
    deps.onFatal(err);
  }

  return {
    stop: () => (stopping ??= (async () => {
      await consumer.disconnect();
      await dlq.disconnect();
    })()),
    healthy: () => !fatal && !stopping,
    ready: async () => {
      await stalled.ready();
      await refused.ready();
    },
  };
}
