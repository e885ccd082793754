/**
 * `npm run bench -- speed`: speed-layer throughput and freshness against a bare kafkajs
 * consumer and against ClickHouse's own Kafka engine (the Kappa peer), in one run on one
 * machine, so that the ratios hold even when the machine is busy with other work.
 *
 * 1. A local Kafka broker of its own (temp data dir, jars from `<repo>/.cache`) and the
 *    speed layer's topics (`bench-<id>-events`, …), `BENCH_PARTITIONS` partitions.
 * 2. Preload, untimed: `BENCH_EVENTS` realistic stored events (generated once, enriched as the
 *    collector does) produced in sends of `BENCH_SEND` messages through the collector's own
 *    producer (@platformatic/kafka; so is every later phase's input).
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
 *      offset to speed_staged as the speed layer does (no decisions, state, views or sends): what any speed
 *      layer that decides in JS and resumes from what it wrote does before its own work;
 *    - speed layer: `startSpeedLayer` on a fresh embedded chDB (migrations applied before
 *      timing), from the start call until every partition is committed to the end;
 *    - Kappa peer: the Kafka table engine + a materialized view into an hourly
 *      AggregatingMergeTree (tuned per FIELD-NOTES), until the view has counted every event.
 * 4. Freshness: `BENCH_FRESH_RATE` events/s (default 5000) for `BENCH_FRESH_SECONDS` s more
 *    into the topic through the running speed layer, `received_at` stamped at produce time;
 *    produce → queryable p50/p99, exactly (insert resolved) and from the layer's own
 *    histogram. Then the same at `BENCH_FRESH_50K_RATE` events/s (default 50 000) for
 *    `BENCH_FRESH_50K_SECONDS` s (default 10; the events are serialised before, ~0.6 KB of
 *    heap each) into the same running layer: that rate is offered, and when the producer,
 *    sharing the cores with the layer and the broker, sends fewer, the rate it reached is
 *    printed and reported (`freshness_50k_achieved_rate`).
 * 5. Restore (support/speed-restore.ts), black box: a speed-layer process of its own, on
 *    topics of its own, holding `BENCH_RESTORE_DAYS` days of state (default 30) is SIGKILLed
 *    and started again at once on its data dir and consumer group; `restore_s` runs from the
 *    SIGKILL to the first flush group it writes again (the first `speed_progress` row stamped
 *    after it; `BENCH_RESTORE_FRESH` events, default 600, are produced after the kill for it
 *    to write), `restore_rss_mb` is the new process's peak RSS by then; `restore_1day_*` the
 *    same with 1 day of state. Both hold the same number of events per day,
 *    `BENCH_RESTORE_EVENTS_PER_DAY` (default 20 000: 600k events over 30 days, 20k over 1;
 *    not `BENCH_EVENTS` per day, which would make 30M), their event times spread over the
 *    days, so the state grows with the days and `restore_growth` (30 days / 1 day) shows what
 *    the days cost. The killed member holds its partitions until its session times out (the
 *    layer's 10 s today; kafkajs has no static membership), which is most of `restore_s`
 *    whatever the state: `restore_rejoined_s` is when the broker had the group stable again
 *    without it, `restore_after_rejoin_s` the rest (the layer's own part). One kill per state
 *    is one sample; `BENCH_RESTORE_KILLS=n` kills each restarted process again once idle, n
 *    times, and reports the median kill (~12 s more a kill).
 *
 * Each figure is printed beside its target (issue 16), and the JSON line holds the targets
 * as measured in this run (`targets`).
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
import { cpuSeconds, forkChild, stopChild, type ChildMessage } from './support/child';
import { withCleanup, type OnCleanup } from './support/cleanup-stack';
import { committedOffsets } from './support/committed-offsets';
import { benchProducer, preloadTopic, produceSteady, stampableRecords } from './support/speed-data';
import { forkSpeedLayer } from './support/speed-layer-child';
import { measureRestore, type RestoreFigures } from './support/speed-restore';
import { fmt } from './support/format';

interface BenchOptions {
  events: number;
  partitions: number;
  sendSize: number;
  seed: number;
  freshRate: number;
  freshSeconds: number;
  fresh50kRate: number;
  fresh50kSeconds: number;
  restoreDays: number;
  restoreEventsPerDay: number;
  restoreFresh: number;
  restoreKills: number;
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
    fresh50kRate: int('BENCH_FRESH_50K_RATE', 50_000),
    fresh50kSeconds: int('BENCH_FRESH_50K_SECONDS', 10),
    restoreDays: int('BENCH_RESTORE_DAYS', 30, 2),
    restoreEventsPerDay: int('BENCH_RESTORE_EVENTS_PER_DAY', 20_000),
    restoreFresh: int('BENCH_RESTORE_FRESH', 600),
    restoreKills: int('BENCH_RESTORE_KILLS', 1),
    peerFlushMs: int('BENCH_PEER_FLUSH_MS', 500),
    timeoutS: int('BENCH_TIMEOUT_S', 600),
    cpuProfDir: env.BENCH_CPU_PROF ? path.resolve(env.BENCH_CPU_PROF) : undefined,
  };
}

const APP_ID = 'bench';
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number, digits = 0) => Number(n.toFixed(digits));

export async function runSpeedBench(): Promise<Record<string, unknown>> {
  const o = options();
  return withCleanup((onCleanup) => bench(o, onCleanup));
}

/** Issue 16's targets for the speed layer, each against a figure of the same run where it is relative. */
const TARGET = { viewsFloorShare: 0.8, peerCpuFactor: 1.3, freshnessP99Ms: 500, freshness50kP99Ms: 1000, restoreS: 3, restoreGrowth: 2 } as const;

/** `figure vs target: met|missed`, for the human lines. */
function vsTarget(figure: string, op: '≥' | '≤', bound: number, boundText: string, value: number): string {
  const met = op === '≥' ? value >= bound : value <= bound;
  return `${figure} (target ${op} ${boundText}: ${Number.isNaN(value) ? 'not measured' : met ? 'met' : 'missed'})`;
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
  const produced = await preloadTopic(broker.brokers, { topic: topics.events, appId: APP_ID, seed: o.seed, events: o.events, sendSize: o.sendSize });
  const { topicEnd, waitCommitted } = committedOffsets(admin, topics.events, o.timeoutS);
  const n = await topicEnd();
  if (n !== produced) throw new Error(`the topic holds ${n} messages, ${produced} were produced`);
  say(`preloaded ${fmt(n)} events in sends of ${o.sendSize} (${((performance.now() - t) / 1000).toFixed(1)} s)`);

  const rate = (ms: number) => n / (ms / 1000);

  // --- the speed layer's process (migrations before timing)
  const speedGroup = `${prefix}speed`;
  const speedChild = await forkSpeedLayer(
    'speed layer',
    { brokers: broker.brokers, prefix, partitions: o.partitions, dataDir: path.join(tmp, 'speed'), groupId: speedGroup },
    o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [],
  );
  onCleanup('speed layer', () => stopChild(speedChild));

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
    `floor (decode every event, stage it with its offset as the speed layer does; no decisions, state, views or sends): ${fmt(floor.eventsPerS)} events/s ` +
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
  const eventsPerSMin = round(TARGET.viewsFloorShare * views.eventsPerS);
  const speedRateVsTarget = vsTarget(`${fmt(speed.eventsPerS)} events/s`, '≥', eventsPerSMin, `${TARGET.viewsFloorShare} × views floor = ${fmt(eventsPerSMin)}`, speed.eventsPerS);
  say(
    `speed layer: ${speedRateVsTarget} (${(speed.ms / 1000).toFixed(2)} s to commit every partition to the end; ` +
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
  const cpuPerEventMax = round(TARGET.peerCpuFactor * peer.cpuUsPerEvent, 1);
  const speedCpuVsTarget = vsTarget(`${speed.cpuUsPerEvent.toFixed(1)} CPU-µs/event`, '≤', cpuPerEventMax, `${TARGET.peerCpuFactor} × peer = ${cpuPerEventMax}`, speed.cpuUsPerEvent);
  say(
    `Kappa peer (Kafka engine + MV, flush ${o.peerFlushMs} ms): ${fmt(peer.eventsPerS)} events/s (${(peer.ms / 1000).toFixed(2)} s; ` +
      `${peer.cpuUsPerEvent.toFixed(1)} CPU-µs/event, process at ${peer.cpuPct.toFixed(0)} % of a core); the speed layer's ${speedCpuVsTarget}`,
  );

  // --- (4) freshness at steady rates through the running speed layer
  // A member that lost its session joins again under a new id (and its partitions are restored):
  // said beside the freshness it spoiled.
  const speedMembers = async () => ((await admin.describeGroups([speedGroup])).groups[0]?.members.map((m) => m.memberId) ?? []).sort().join(',');
  const freshness = async (ratePerS: number, seconds: number, seed: number) => {
    const records = stampableRecords({ appId: APP_ID, seed, events: ratePerS * seconds, receivedAt: Date.now() });
    const producer = benchProducer(broker.brokers);
    try {
      const members = await speedMembers();
      speedChild.send({ type: 'fresh-start' });
      await speedChild.next('fresh-started');
      const sent = await produceSteady(producer, { topic: topics.events, records, ratePerS, tickMs: 20, maxMs: seconds * 1000 * 2 });
      const end = await topicEnd();
      const ms = await waitCommitted(speedGroup, end, performance.now(), speedChild.exited);
      if (Number.isNaN(ms)) await speedChild.next('never');
      speedChild.send({ type: 'fresh-report' });
      const r = await speedChild.next<ChildMessage & { rows: number; p50: number; p99: number; max: number; histP50: number; histP99: number }>('fresh');
      return { ...r, produced: sent.produced, rateAchieved: sent.produced / (sent.ms / 1000), rejoined: (await speedMembers()) !== members };
    } finally {
      await producer.close();
    }
  };
  const freshLine = (f: Awaited<ReturnType<typeof freshness>>, offered: number, targetMs: number) =>
    `freshness at ${fmt(f.rateAchieved)} events/s` +
    // The producer shares this machine's two cores with the layer and the broker.
    (f.rateAchieved < 0.95 * offered ? ` (offered ${fmt(offered)}: this machine's producer reached only ${fmt(f.rateAchieved)})` : '') +
    ` (${fmt(f.produced)} events, ${fmt(f.rows)} rows): produce → queryable p50 ${f.p50.toFixed(0)} ms, ` +
    vsTarget(`p99 ${f.p99.toFixed(0)} ms`, '≤', targetMs, `${targetMs} ms at ${fmt(offered)} events/s`, f.p99) +
    `, max ${f.max.toFixed(0)} ms (weir_speed_freshness_seconds: p50 ${f.histP50.toFixed(0)} ms, p99 ${f.histP99.toFixed(0)} ms)` +
    (f.rejoined ? `; the layer's member lost its session during the phase and joined the group again` : '');
  const fresh = await freshness(o.freshRate, o.freshSeconds, o.seed + 1_000_003);
  say(freshLine(fresh, o.freshRate, TARGET.freshnessP99Ms));
  const fresh50k = await freshness(o.fresh50kRate, o.fresh50kSeconds, o.seed + 2_000_003);
  say(freshLine(fresh50k, o.fresh50kRate, TARGET.freshness50kP99Ms));
  await stopChild(speedChild);

  // --- (5) restore after a SIGKILL, with many days of state and with one
  const restoreSetup = {
    admin,
    brokers: broker.brokers,
    partitions: o.partitions,
    prefix,
    dir: tmp,
    appId: APP_ID,
    seed: o.seed + 3_000_003,
    sendSize: o.sendSize,
    eventsPerDay: o.restoreEventsPerDay,
    freshEvents: o.restoreFresh,
    kills: o.restoreKills,
    timeoutS: o.timeoutS,
  };
  // The killed member's session timeout (the broker's, the same whatever the state) is most of
  // restore_s; what the layer does once it has its partitions back is the rest.
  const afterRejoin = (r: RestoreFigures) => r.restoreS - r.rejoinedS;
  const restoreLine = (r: RestoreFigures) =>
    `restore with ${r.days} d of state (${fmt(r.events)} events, consumed in ${r.consumeS.toFixed(1)} s; the killed process's peak RSS ${r.killedRssMb.toFixed(0)} MB): ` +
    `${r.restoreS.toFixed(2)} s from the SIGKILL to the first flush group written again${r.kills > 1 ? ` (the median of ${r.kills} kills)` : ''}: the new process ready (engine open, migrated) at ${r.readyS.toFixed(2)} s, ` +
    `the group rebalanced without the killed member at ${r.rejoinedS.toFixed(2)} s (its session timeout), the group written ${afterRejoin(r).toFixed(2)} s after that; ` +
    `the new process's peak RSS ${r.rssMb.toFixed(0)} MB`;
  const restore1 = await measureRestore(restoreSetup, 1);
  say(restoreLine(restore1));
  const restoreN = await measureRestore(restoreSetup, o.restoreDays);
  say(restoreLine(restoreN));
  const restoreGrowth = restoreN.restoreS / restore1.restoreS;
  const afterRejoinGrowth = afterRejoin(restoreN) / afterRejoin(restore1);
  const restoreVsTarget = vsTarget(`${restoreN.restoreS.toFixed(2)} s`, '≤', TARGET.restoreS, `${TARGET.restoreS} s`, restoreN.restoreS);
  const growthVsTarget = vsTarget(`growth ${restoreGrowth.toFixed(2)}×`, '≤', TARGET.restoreGrowth, `${TARGET.restoreGrowth}×`, restoreGrowth);
  say(
    `restore ${o.restoreDays} d / 1 d: ${restoreVsTarget}, ${growthVsTarget}; ` +
      `after the rebalance ${afterRejoin(restoreN).toFixed(2)} s, ${afterRejoinGrowth.toFixed(2)}× the 1-day ${afterRejoin(restore1).toFixed(2)} s; ` +
      `peak RSS ${(restoreN.rssMb / restore1.rssMb).toFixed(2)}×`,
  );

  const ratioPeer = speed.eventsPerS / peer.eventsPerS;
  const ratioBaseline = speed.eventsPerS / baseline.eventsPerS;
  const ratioFloor = speed.eventsPerS / floor.eventsPerS;
  say(`ratio speed layer / Kappa peer: ${ratioPeer.toFixed(2)}; / bare consumer: ${ratioBaseline.toFixed(2)}; / floor: ${ratioFloor.toFixed(2)}`);
  say(`ratio raw floor / Kappa peer: ${(raw.eventsPerS / peer.eventsPerS).toFixed(2)} (the most any kafkajs consumer computing the peer's view reached here)`);
  say(`ratio views floor / Kappa peer: ${(views.eventsPerS / peer.eventsPerS).toFixed(2)} (the most any kafkajs consumer keeping the speed views reached here)`);
  const targets = {
    events_per_s_min: eventsPerSMin,
    cpu_us_per_event_speed_max: cpuPerEventMax,
    freshness_p99_ms_max: TARGET.freshnessP99Ms,
    freshness_50k_p99_ms_max: TARGET.freshness50kP99Ms,
    restore_s_max: TARGET.restoreS,
    restore_growth_max: TARGET.restoreGrowth,
  };
  say(
    `targets: speed layer ${speedRateVsTarget}; ${speedCpuVsTarget}; ` +
      `freshness p99 ${vsTarget(`${fresh.p99.toFixed(0)} ms`, '≤', TARGET.freshnessP99Ms, `${TARGET.freshnessP99Ms} ms`, fresh.p99)}, ` +
      `at ${fmt(fresh50k.rateAchieved)} of ${fmt(o.fresh50kRate)} events/s ${vsTarget(`${fresh50k.p99.toFixed(0)} ms`, '≤', TARGET.freshness50kP99Ms, `${TARGET.freshness50kP99Ms} ms`, fresh50k.p99)}; ` +
      `restore ${restoreVsTarget}, ${growthVsTarget} (${afterRejoinGrowth.toFixed(2)}× after the rebalance, the killed member's session timeout being the same for both)`,
  );
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
    freshness_50k_p99_ms: round(fresh50k.p99),
    freshness_50k_p50_ms: round(fresh50k.p50),
    freshness_50k_achieved_rate: round(fresh50k.rateAchieved),
    freshness_50k_offered_rate: o.fresh50kRate,
    restore_s: round(restoreN.restoreS, 2),
    restore_1day_s: round(restore1.restoreS, 2),
    restore_growth: round(restoreGrowth, 2),
    restore_rss_mb: round(restoreN.rssMb),
    restore_1day_rss_mb: round(restore1.rssMb),
    // From the SIGKILL: the broker's group stable again without the killed member (its session timeout).
    restore_rejoined_s: round(restoreN.rejoinedS, 2),
    restore_1day_rejoined_s: round(restore1.rejoinedS, 2),
    // From then to the first group written: the layer's own part of restore_s.
    restore_after_rejoin_s: round(afterRejoin(restoreN), 2),
    restore_1day_after_rejoin_s: round(afterRejoin(restore1), 2),
    restore_after_rejoin_growth: round(afterRejoinGrowth, 2),
    restore_days: o.restoreDays,
    restore_kills: o.restoreKills,
    restore_events: restoreN.events,
    restore_1day_events: restore1.events,
    events: n,
    partitions: o.partitions,
    cpus: os.cpus().length,
    // CPU time per event does not depend on how busy the machine is, unlike events/s.
    targets,
    cpu_us_per_event: { speed: round(speed.cpuUsPerEvent, 1), baseline: round(baseline.cpuUsPerEvent, 1), peer: round(peer.cpuUsPerEvent, 1), floor: round(floor.cpuUsPerEvent, 1), raw_floor: round(raw.cpuUsPerEvent, 1), views_floor: round(views.cpuUsPerEvent, 1) },
  };
}
