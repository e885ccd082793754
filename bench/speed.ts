/**
 * `npm run bench -- speed`: speed-layer throughput and freshness against a bare kafkajs
 * consumer and against ClickHouse's own Kafka engine (the Kappa peer), in one run on one
 * machine, so that the ratios hold even when the machine is busy with other work.
 *
 * 1. A local Kafka broker of its own (temp data dir, jars from `<repo>/.cache`) and the
 *    speed layer's topics (`bench-<id>-events`, …), `BENCH_PARTITIONS` partitions.
 * 2. Preload, untimed: `BENCH_EVENTS` realistic stored events (generated once, enriched as the
 *    collector does) produced in sends of `BENCH_SEND` messages.
 * 3. Timed over the same topic, each in its own process and consumer group:
 *    - baseline: a bare kafkajs consumer doing no work, until it has seen every message;
 *    - raw floor: the same consumer handing the messages as they are to the engine, which
 *      parses them and computes the Kappa peer's hourly view: what any kafkajs speed layer
 *      computing at least that view does, whatever its design;
 *    - views floor: the same, with each message's partition and offset appended and the speed
 *      layer's four views (their own SQL) as materialized views of the one insert: what any
 *      kafkajs speed layer keeping these views does, whatever its design, before deciding
 *      anything;
 *    - floor: the same consumer decoding every message and writing every event with its
 *      offset to events_rt as the speed layer does (no state, views or sends): what any speed
 *      layer that decides in JS and resumes from what it wrote does before its own work;
 *    - speed layer: `startSpeedLayer` on a fresh embedded chDB (migrations applied before
 *      timing), from the start call until every partition is committed to the end;
 *    - Kappa peer: the Kafka table engine + a materialized view into an hourly
 *      AggregatingMergeTree (tuned per FIELD-NOTES), until the view has counted every event.
 * 4. Freshness: `BENCH_FRESH_RATE` events/s for `BENCH_FRESH_SECONDS` s more into the topic
 *    through the running speed layer, `received_at` stamped at produce time; produce →
 *    queryable p50/p99, exactly (insert resolved) and from the layer's own histogram.
 *
 * `BENCH_CPU_PROF=<dir>` starts the speed-layer process with `--cpu-prof` (profile written at
 * its stop; summarise with `node --import tsx bench/support/cpu-profile-summary.ts <file>`).
 * Every process, the broker and the temp directory are removed at the end, also on failure
 * or Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKafka, ensureTopics, startLocalBroker, type LocalBroker } from '../infra/kafka/local-broker';
import { CACHE_DIR } from '../infra/paths';
import { topicNames } from '../schemas/topics';
import { cpuSeconds, forkChild, type BenchChild, type ChildMessage } from './support/child';
import { withCleanup, type OnCleanup } from './support/cleanup-stack';
import { preloadTopic, produceSteady, storedEventStream } from './support/speed-data';
import { fmt } from './support/format';

interface BenchOptions {
  events: number;
  partitions: number;
  sendSize: number;
  seed: number;
  freshRate: number;
  freshSeconds: number;
  peerFlushMs: number;
  timeoutS: number;
  cpuProfDir: string | undefined;
}

function options(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const int = (name: string, def: number, min = 1): number => {
    const v = env[name] === undefined || env[name] === '' ? def : Number(env[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${env[name]}`);
    return v;
  };
  return {
    events: int('BENCH_EVENTS', 1_000_000),
    partitions: int('BENCH_PARTITIONS', 6),
    sendSize: int('BENCH_SEND', 5000),
    seed: int('BENCH_SEED', 1, 0),
    freshRate: int('BENCH_FRESH_RATE', 5000),
    freshSeconds: int('BENCH_FRESH_SECONDS', 20),
    peerFlushMs: int('BENCH_PEER_FLUSH_MS', 500),
    timeoutS: int('BENCH_TIMEOUT_S', 600),
    cpuProfDir: env.BENCH_CPU_PROF ? path.resolve(env.BENCH_CPU_PROF) : undefined,
  };
}

const APP_ID = 'bench';
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number, digits = 0) => Number(n.toFixed(digits));
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runSpeedBench(): Promise<Record<string, unknown>> {
  const o = options();
  return withCleanup((onCleanup) => bench(o, onCleanup));
}

/** A child stopped by message (so that a CPU profile gets written), killed if that does not work. */
async function stopChild(child: BenchChild, graceMs = 20_000): Promise<void> {
  child.send({ type: 'stop' });
  await Promise.race([child.exited, delay(graceMs)]);
  await child.kill();
}

async function bench(o: BenchOptions, onCleanup: OnCleanup): Promise<Record<string, unknown>> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'weir-bench-speed-'));
  onCleanup('temp dir', () => rmSync(tmp, { recursive: true, force: true }));
  say(`speed bench: ${fmt(o.events)} events, ${o.partitions} partitions, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`);

  // --- broker and topics
  let t = performance.now();
  const broker: LocalBroker = await startLocalBroker({ dataDir: path.join(tmp, 'kafka'), cacheDir: CACHE_DIR, log: (m) => process.stderr.write(`[bench broker] ${m}\n`) });
  onCleanup('kafka broker', () => broker.stop());
  const kafka = createKafka(broker.brokers, 'weir-bench-speed-driver');
  const prefix = `bench-${randomBytes(3).toString('hex')}-`;
  const topics = topicNames(prefix);
  await ensureTopics(broker.brokers, [
    { topic: topics.events, numPartitions: o.partitions },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.attributions, numPartitions: o.partitions },
  ]);
  const admin = kafka.admin();
  await admin.connect();
  onCleanup('kafka admin', () => admin.disconnect());
  say(`broker ready on ${broker.brokers.join(',')} in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // --- preload
  t = performance.now();
  const produced = await preloadTopic(kafka, { topic: topics.events, appId: APP_ID, seed: o.seed, events: o.events, sendSize: o.sendSize });
  const topicEnd = async () => (await admin.fetchTopicOffsets(topics.events)).reduce((s, p) => s + Number(p.high), 0);
  const n = await topicEnd();
  if (n !== produced) throw new Error(`the topic holds ${n} messages, ${produced} were produced`);
  say(`preloaded ${fmt(n)} events in sends of ${o.sendSize} (${((performance.now() - t) / 1000).toFixed(1)} s)`);

  const committed = async (groupId: string) => {
    const [c] = await admin.fetchOffsets({ groupId, topics: [topics.events] });
    return c.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  };
  /** Polls until the group has committed `end` in total; resolves to the time it took from `t0`. */
  const waitCommitted = async (groupId: string, end: number, t0: number, failed: Promise<unknown>): Promise<number> => {
    let stop = false;
    const poll = (async () => {
      for (;;) {
        if (stop) return Number.NaN;
        const c = await committed(groupId);
        if (c >= end) return performance.now() - t0;
        if (performance.now() - t0 > o.timeoutS * 1000) throw new Error(`group ${groupId} committed ${c} of ${end} in ${o.timeoutS} s`);
        await delay(50);
      }
    })();
    try {
      return await Promise.race([poll, failed.then(() => Number.NaN)]);
    } finally {
      stop = true;
    }
  };
  const rate = (ms: number) => n / (ms / 1000);

  // --- the speed layer's process (migrations before timing)
  const speedChild = forkChild('speed layer', path.join(__dirname, 'support', 'speed-layer-process.ts'), {
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    execArgv: o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [],
  });
  onCleanup('speed layer', () => stopChild(speedChild));
  const speedGroup = `${prefix}speed`;
  speedChild.send({ type: 'init', brokers: broker.brokers, prefix, partitions: o.partitions, dataDir: path.join(tmp, 'speed'), groupId: speedGroup });
  await speedChild.next('ready', 120_000);

  // --- (2) baseline: a bare consumer; the floor: the same consumer decoding and writing every event
  const consume = async (name: string, mode: 'bare' | 'floor' | 'raw' | 'views') => {
    const child = forkChild(name, path.join(__dirname, 'support', 'speed-baseline-consumer.ts'));
    try {
      child.send({ type: 'init', brokers: broker.brokers, topic: topics.events, groupId: `${prefix}${mode}`, expected: n, mode, dataDir: path.join(tmp, mode) });
      await child.next('ready', 120_000);
      const cpu0 = cpuSeconds(child.pid);
      child.send({ type: 'go' });
      const done = await child.next<ChildMessage & { messages: number; ms: number }>('done', o.timeoutS * 1000);
      const cpu = cpuSeconds(child.pid) - cpu0;
      return { eventsPerS: rate(done.ms), ms: done.ms, cpuUsPerEvent: (cpu / n) * 1e6, cpuPct: (cpu / (done.ms / 1000)) * 100 };
    } finally {
      await stopChild(child, 10_000);
    }
  };
  const baseline = await consume('baseline consumer', 'bare');
  say(`baseline (bare kafkajs consumer): ${fmt(baseline.eventsPerS)} events/s (${(baseline.ms / 1000).toFixed(2)} s, ${baseline.cpuUsPerEvent.toFixed(1)} CPU-µs/event)`);
  const floor = await consume('floor consumer', 'floor');
  say(
    `floor (decode every event, write it with its offset to events_rt; no state, views or sends): ${fmt(floor.eventsPerS)} events/s ` +
      `(${(floor.ms / 1000).toFixed(2)} s, ${floor.cpuUsPerEvent.toFixed(1)} CPU-µs/event, process at ${floor.cpuPct.toFixed(0)} % of a core)`,
  );

  const raw = await consume('raw floor consumer', 'raw');
  say(
    `raw floor (no JS decode: the messages as they are into the engine, which computes the Kappa peer's hourly view): ${fmt(raw.eventsPerS)} events/s ` +
      `(${(raw.ms / 1000).toFixed(2)} s, ${raw.cpuUsPerEvent.toFixed(1)} CPU-µs/event, process at ${raw.cpuPct.toFixed(0)} % of a core)`,
  );
  const views = await consume('views floor consumer', 'views');
  say(
    `views floor (no JS decode: the messages with their offsets into the engine, which computes the speed layer's four views as materialized views): ${fmt(views.eventsPerS)} events/s ` +
      `(${(views.ms / 1000).toFixed(2)} s, ${views.cpuUsPerEvent.toFixed(1)} CPU-µs/event, process at ${views.cpuPct.toFixed(0)} % of a core)`,
  );

  // --- (1) the speed layer
  const speed = await (async () => {
    const cpu0 = cpuSeconds(speedChild.pid);
    const brokerCpu0 = cpuSeconds(broker.pid);
    const t0 = performance.now();
    speedChild.send({ type: 'go' });
    await speedChild.next('started', 120_000);
    const ms = await waitCommitted(speedGroup, n, t0, speedChild.exited);
    if (Number.isNaN(ms)) await speedChild.next('never'); // rejects with the child's failure
    const cpu = cpuSeconds(speedChild.pid) - cpu0;
    return { eventsPerS: rate(ms), ms, cpuUsPerEvent: (cpu / n) * 1e6, cpuPct: (cpu / (ms / 1000)) * 100, brokerCpuPct: ((cpuSeconds(broker.pid) - brokerCpu0) / (ms / 1000)) * 100 };
  })();
  say(
    `speed layer: ${fmt(speed.eventsPerS)} events/s (${(speed.ms / 1000).toFixed(2)} s to commit every partition to the end; ` +
      `${speed.cpuUsPerEvent.toFixed(1)} CPU-µs/event, process at ${speed.cpuPct.toFixed(0)} % of a core, broker ${speed.brokerCpuPct.toFixed(0)} %)`,
  );

  // --- (3) the Kappa peer
  const peer = await (async () => {
    const child = forkChild('kafka-engine peer', path.join(__dirname, 'support', 'speed-kafka-peer.ts'));
    try {
      child.send({
        type: 'init',
        broker: broker.brokers[0],
        topic: topics.events,
        groupId: `${prefix}peer`,
        dataDir: path.join(tmp, 'peer'),
        expected: n,
        flushIntervalMs: o.peerFlushMs,
        timeoutMs: o.timeoutS * 1000,
      });
      await child.next('ready', 120_000);
      const cpu0 = cpuSeconds(child.pid);
      child.send({ type: 'go' });
      const done = await child.next<ChildMessage & { events: number; ms: number }>('done', o.timeoutS * 1000 + 10_000);
      const cpu = cpuSeconds(child.pid) - cpu0;
      return { eventsPerS: rate(done.ms), ms: done.ms, cpuUsPerEvent: (cpu / n) * 1e6, cpuPct: (cpu / (done.ms / 1000)) * 100 };
    } finally {
      await stopChild(child, 20_000);
    }
  })();
  say(
    `Kappa peer (Kafka engine + MV, flush ${o.peerFlushMs} ms): ${fmt(peer.eventsPerS)} events/s (${(peer.ms / 1000).toFixed(2)} s; ` +
      `${peer.cpuUsPerEvent.toFixed(1)} CPU-µs/event, process at ${peer.cpuPct.toFixed(0)} % of a core)`,
  );

  // --- (4) freshness at a steady rate through the running speed layer
  const fresh = await (async () => {
    const events = [...storedEventStream({ appId: APP_ID, seed: o.seed + 1_000_003, events: o.freshRate * o.freshSeconds, receivedAt: Date.now() })];
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      speedChild.send({ type: 'fresh-start' });
      await speedChild.next('fresh-started');
      const sent = await produceSteady(producer, { topic: topics.events, events, ratePerS: o.freshRate, tickMs: 20, maxMs: o.freshSeconds * 1000 * 2 });
      const end = await topicEnd();
      const ms = await waitCommitted(speedGroup, end, performance.now(), speedChild.exited);
      if (Number.isNaN(ms)) await speedChild.next('never');
      speedChild.send({ type: 'fresh-report' });
      const r = await speedChild.next<ChildMessage & { rows: number; p50: number; p99: number; max: number; histP50: number; histP99: number }>('fresh');
      return { ...r, produced: sent.produced, rateAchieved: sent.produced / (sent.ms / 1000) };
    } finally {
      await producer.disconnect();
    }
  })();
  say(
    `freshness at ${fmt(fresh.rateAchieved)} events/s (${fmt(fresh.produced)} events, ${fmt(fresh.rows)} rows): produce → queryable ` +
      `p50 ${fresh.p50.toFixed(0)} ms, p99 ${fresh.p99.toFixed(0)} ms, max ${fresh.max.toFixed(0)} ms ` +
      `(weir_speed_freshness_seconds: p50 ${fresh.histP50.toFixed(0)} ms, p99 ${fresh.histP99.toFixed(0)} ms)`,
  );
  await stopChild(speedChild);

  const ratioPeer = speed.eventsPerS / peer.eventsPerS;
  const ratioBaseline = speed.eventsPerS / baseline.eventsPerS;
  const ratioFloor = speed.eventsPerS / floor.eventsPerS;
  say(`ratio speed layer / Kappa peer: ${ratioPeer.toFixed(2)}; / bare consumer: ${ratioBaseline.toFixed(2)}; / floor: ${ratioFloor.toFixed(2)}`);
  say(`ratio raw floor / Kappa peer: ${(raw.eventsPerS / peer.eventsPerS).toFixed(2)} (the most any kafkajs consumer computing the peer's view reached here)`);
  say(`ratio views floor / Kappa peer: ${(views.eventsPerS / peer.eventsPerS).toFixed(2)} (the most any kafkajs consumer keeping the speed views reached here)`);
  return {
    suite: 'speed',
    events_per_s: round(speed.eventsPerS),
    baseline_events_per_s: round(baseline.eventsPerS),
    peer_events_per_s: round(peer.eventsPerS),
    freshness_p99_ms: round(fresh.p99),
    freshness_p50_ms: round(fresh.p50),
    ratio_vs_peer: round(ratioPeer, 3),
    ratio_vs_baseline: round(ratioBaseline, 3),
    freshness_hist_p50_ms: round(fresh.histP50),
    freshness_hist_p99_ms: round(fresh.histP99),
    floor_events_per_s: round(floor.eventsPerS),
    ratio_vs_floor: round(ratioFloor, 3),
    raw_floor_events_per_s: round(raw.eventsPerS),
    raw_floor_ratio_vs_peer: round(raw.eventsPerS / peer.eventsPerS, 3),
    views_floor_events_per_s: round(views.eventsPerS),
    views_floor_ratio_vs_peer: round(views.eventsPerS / peer.eventsPerS, 3),
    freshness_rate_events_per_s: round(fresh.rateAchieved),
    events: n,
    partitions: o.partitions,
    cpus: os.cpus().length,
    // CPU time per event does not depend on how busy the machine is, unlike events/s.
    cpu_us_per_event: { speed: round(speed.cpuUsPerEvent, 1), baseline: round(baseline.cpuUsPerEvent, 1), peer: round(peer.cpuUsPerEvent, 1), floor: round(floor.cpuUsPerEvent, 1), raw_floor: round(raw.cpuUsPerEvent, 1), views_floor: round(views.cpuUsPerEvent, 1) },
  };
}
