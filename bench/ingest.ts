/**
 * `npm run bench -- ingest`: collector throughput against bare producers — kafkajs, the
 * collector's own client (@platformatic/kafka) and Kafka's Java producer — in one run on one
 * machine, so that the ratios hold even when the machine is busy with other work.
 *
 * 1. A local Kafka broker of its own (temp data dir, jars from `<repo>/.cache`) and the
 *    topics: the collector's (`bench-<id>-events`, …) and one per baseline, all with the same
 *    partition count.
 * 2. Input written to files before timing: `BENCH_EVENTS` generated events as request
 *    bodies of `BENCH_BATCH` events, and as stored-event JSON for the baseline.
 * 3. Baselines: a bare kafkajs producer (acks=-1; idempotent unless
 *    `BENCH_BASELINE_IDEMPOTENT=0`) and a bare @platformatic/kafka producer (idempotent,
 *    acks=all) send the stored events in sends of `BENCH_BATCH` messages, each once before
 *    and once after the collector run (the mean is the baseline, which cancels drift in the
 *    machine's load); then kafkajs in sends of `BENCH_BASELINE_LARGE` messages as extra
 *    information; then Kafka's Java producer (bench/support/java-producer.ts) on the same
 *    values, `BENCH_WARMUP_EVENTS` of them untimed first. `BENCH_JAVA=0` leaves Java out.
 * 4. Collector: `BENCH_COLLECTORS` processes running `startWeir` with the ingest role, driven
 *    by `BENCH_CLIENTS` load-client processes with `BENCH_CONCURRENCY` requests in flight
 *    each, over loopback. Each side first sends a warm-up of `BENCH_WARMUP_EVENTS` untimed.
 *    The collector runs twice between the baselines: the events through `POST /v1/events`,
 *    then the same events as Segment batches of as many messages through `POST /v1/batch`
 *    (HTTP Basic, as Segment's SDKs send); `segment_ratio` is the second over the first. Its
 *    floor, `segment_floor_ratio`: the bare @platformatic/kafka producer sending the records
 *    the Segment messages become (their whole message kept in `properties`) over it sending
 *    the /v1/events records, measured right after the collector.
 *    With several collectors each has its own data directory and so its own app registry
 *    (embedded chDB binds a directory to one process): the app is created in each and every
 *    client posts to one collector, as a load balancer in front of `--role ingest` would.
 *
 * `BENCH_COLLECTOR_NODE_ARGS` adds Node flags to the collectors (e.g. `--max-semi-space-size=64`).
 * `BENCH_CPU_PROF=<dir>` starts the collectors with `--cpu-prof` (profile written at their
 * stop; summarise with `node --import tsx bench/support/cpu-profile-summary.ts <file>`).
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
import type { BaselineClient, BaselineInit } from './support/baseline-producer';
import { writeIngestData } from './support/ingest-data';
import { runJavaProducer } from './support/java-producer';
import type { IngestRoute, LoadClientReport } from './support/load-client';
import { fmt } from './support/format';

interface BenchOptions {
  events: number;
  batch: number;
  clients: number;
  concurrency: number;
  collectors: number;
  warmupEvents: number;
  largeBatch: number;
  partitions: number;
  seed: number;
  cpuProfDir: string | undefined;
  collectorNodeArgs: string[];
  baselineIdempotent: boolean;
  java: boolean;
}

function options(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const int = (name: string, def: number, min = 1): number => {
    const v = env[name] === undefined || env[name] === '' ? def : Number(env[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${env[name]}`);
    return v;
  };
  return {
    events: int('BENCH_EVENTS', 500_000),
    batch: int('BENCH_BATCH', 100),
    clients: int('BENCH_CLIENTS', 2),
    concurrency: int('BENCH_CONCURRENCY', 16),
    collectors: int('BENCH_COLLECTORS', 1),
    warmupEvents: int('BENCH_WARMUP_EVENTS', 20_000, 0),
    largeBatch: int('BENCH_BASELINE_LARGE', 1000, 0),
    partitions: int('BENCH_PARTITIONS', 6),
    seed: int('BENCH_SEED', 1, 0),
    cpuProfDir: env.BENCH_CPU_PROF ? path.resolve(env.BENCH_CPU_PROF) : undefined,
    collectorNodeArgs: (env.BENCH_COLLECTOR_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
    baselineIdempotent: int('BENCH_BASELINE_IDEMPOTENT', 1, 0) !== 0,
    java: int('BENCH_JAVA', 1, 0) !== 0,
  };
}

const APP_ID = 'bench';
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number, digits = 0) => Number(n.toFixed(digits));

export async function runIngestBench(): Promise<Record<string, unknown>> {
  const o = options();
  return withCleanup((onCleanup) => bench(o, onCleanup));
}

async function bench(o: BenchOptions, onCleanup: OnCleanup): Promise<Record<string, unknown>> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'weir-bench-'));
  onCleanup('temp dir', () => rmSync(tmp, { recursive: true, force: true }));
  say(
    `ingest bench: ${fmt(o.events)} events in requests of ${o.batch}, ${o.collectors} collector(s)` +
      `${o.collectorNodeArgs.length ? ` (node ${o.collectorNodeArgs.join(' ')})` : ''}, ${o.clients} client(s) x ${o.concurrency} in flight, ${os.cpus().length} CPUs, ` +
      `load average ${os.loadavg()[0].toFixed(1)}`,
  );

  // --- broker and topics
  let t = performance.now();
  const broker: LocalBroker = await startLocalBroker({ dataDir: path.join(tmp, 'kafka'), cacheDir: CACHE_DIR, log: (m) => process.stderr.write(`[bench broker] ${m}\n`) });
  onCleanup('kafka broker', () => broker.stop());
  const prefix = `bench-${randomBytes(3).toString('hex')}-`;
  const topics = topicNames(prefix);
  const baselineTopic = (client: BaselineClient, n: number) => `${prefix}baseline-${client}-${n}`;
  const javaTopic = `${prefix}baseline-java`;
  const baselineTopics = [baselineTopic('kafkajs', o.batch), baselineTopic('platformatic', o.batch), ...(o.largeBatch ? [baselineTopic('kafkajs', o.largeBatch)] : []), javaTopic];
  await ensureTopics(broker.brokers, [
    { topic: topics.events, numPartitions: o.partitions },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.attributions, numPartitions: o.partitions },
    ...baselineTopics.map((topic) => ({ topic, numPartitions: o.partitions })),
  ]);
  say(`broker ready on ${broker.brokers.join(',')} in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // --- input files
  t = performance.now();
  const bodiesFile = path.join(tmp, 'bodies.ndjson');
  const segmentBodiesFile = path.join(tmp, 'segment-bodies.ndjson');
  const storedFile = path.join(tmp, 'stored.tsv');
  const segmentStoredFile = path.join(tmp, 'segment-stored.tsv');
  const payloadFile = path.join(tmp, 'payloads.ndjson');
  const data = writeIngestData({ appId: APP_ID, events: o.events, batchSize: o.batch, seed: o.seed, bodiesFile, segmentBodiesFile, storedFile, segmentStoredFile, payloadFile });
  say(
    `input: ${fmt(data.events)} events, ${fmt(data.bodies)} bodies, ${(data.bodyBytes / data.events).toFixed(0)} B/event on the wire ` +
      `(${(data.segmentBodyBytes / data.events).toFixed(0)} as Segment messages), ` +
      `${(data.storedBytes / data.events).toFixed(0)} B/event stored (${(data.segmentStoredBytes / data.events).toFixed(0)} from Segment messages, kept whole in properties), ` +
      `${data.invalid} invalid (${data.segmentInvalid} as Segment messages; ${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );

  // --- collectors
  const collectors: { child: BenchChild; url: string; writeKey: string }[] = [];
  const adminToken = `admin-${randomBytes(12).toString('hex')}`;
  for (let i = 0; i < o.collectors; i++) {
    const child = forkChild(`collector ${i}`, path.join(__dirname, 'support', 'collector-process.ts'), {
      env: {
        ...process.env,
        KAFKA_BROKERS: broker.brokers.join(','),
        DATA_DIR: path.join(tmp, `collector-${i}`),
        PORT: '0',
        HOST: '127.0.0.1',
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_EVENTS_PARTITIONS: String(o.partitions),
        ADMIN_TOKEN: adminToken,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        RATE_LIMIT_EVENTS_PER_S: '1000000000',
        RATE_LIMIT_REQUESTS_PER_S: '100000000',
      },
      // Default file names: they hold the pid and thread id (tsx's loader thread writes a profile too).
      execArgv: [...o.collectorNodeArgs, ...(o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [])],
    });
    // Stopped by message so that a CPU profile gets written; killed if that does not work.
    onCleanup(`collector ${i}`, async () => {
      child.send({ type: 'stop' });
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 20_000).unref())]);
      await child.kill();
    });
    const ready = await child.next<ChildMessage & { url: string }>('ready', 120_000);
    const app = await createApp(ready.url, adminToken);
    collectors.push({ child, url: ready.url, writeKey: app.write_key });
  }
  say(`collector(s) at ${collectors.map((c) => c.url).join(', ')}`);

  // --- baseline
  const runBaseline = async (client: BaselineClient, batchSize: number, records = storedFile): Promise<{ eventsPerS: number; cpuPct: number; cpuUsPerEvent: number }> => {
    const child = forkChild(`baseline ${client} ${batchSize}${records === storedFile ? '' : ' (Segment records)'}`, path.join(__dirname, 'support', 'baseline-producer.ts'));
    try {
      const init: BaselineInit = {
        type: 'init',
        brokers: broker.brokers,
        topic: baselineTopic(client, batchSize),
        storedFile: records,
        batchSize,
        warmupMessages: o.warmupEvents,
        client,
        idempotent: o.baselineIdempotent,
      };
      child.send({ ...init });
      await child.next('ready');
      child.send({ type: 'warmup' });
      await child.next('warmed');
      const cpu0 = cpuSeconds(child.pid);
      child.send({ type: 'go' });
      const done = await child.next<ChildMessage & { messages: number; ms: number }>('done');
      const cpu = cpuSeconds(child.pid) - cpu0;
      const cpuPct = (cpu / (done.ms / 1000)) * 100;
      const cpuUsPerEvent = (cpu / done.messages) * 1e6;
      const eventsPerS = done.messages / (done.ms / 1000);
      say(
        `baseline ${client}, sends of ${batchSize}: ${fmt(eventsPerS)} events/s (${(done.ms / 1000).toFixed(2)} s; producer at ${cpuPct.toFixed(0)} % of a core, ` +
          `${cpuUsPerEvent.toFixed(1)} CPU-µs/event)`,
      );
      child.send({ type: 'stop' });
      return { eventsPerS, cpuPct, cpuUsPerEvent };
    } finally {
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
      await child.kill();
    }
  };

  // --- collector run
  const bodiesOf: Record<IngestRoute, string> = { events: bodiesFile, segment: segmentBodiesFile };
  const runCollector = async (route: IngestRoute) => {
    const clients: BenchChild[] = [];
    try {
      for (let k = 0; k < o.clients; k++) {
        const c = forkChild(`load client ${k}`, path.join(__dirname, 'support', 'load-client.ts'));
        clients.push(c);
        const target = collectors[k % collectors.length];
        c.send({
          type: 'init',
          route,
          url: target.url,
          writeKey: target.writeKey,
          bodiesFile: bodiesOf[route],
          part: k,
          parts: o.clients,
          concurrency: o.concurrency,
          warmupBodies: Math.ceil(o.warmupEvents / o.batch / o.clients),
        });
      }
      await Promise.all(clients.map((c) => c.next('ready')));
      // Segment's answer does not say which messages were dead-lettered: the DLQ's growth does.
      const deadLetters = () => topicSize(broker.brokers, topics.dlq);
      const dlq0 = await deadLetters();
      for (const c of clients) c.send({ type: 'warmup' });
      const warm = dlqCounted(route, await Promise.all(clients.map((c) => c.next<LoadClientReport & ChildMessage>('warmed'))), (await deadLetters()) - dlq0);
      failOnErrors(warm);
      const dlq1 = await deadLetters();
      // Background CPU of the idle collectors (chDB threads, timers), to tell it from the cost of the load.
      const idle0 = collectors.reduce((s, c) => s + cpuSeconds(c.child.pid), 0);
      await new Promise((r) => setTimeout(r, 3000));
      const idleCpuPct = ((collectors.reduce((s, c) => s + cpuSeconds(c.child.pid), 0) - idle0) / 3) * 100;
      const sendsBefore = await Promise.all(collectors.map((c) => sendStats(c.url)));
      const pids = { collectors: collectors.map((c) => c.child.pid), clients: clients.map((c) => c.pid), broker: [broker.pid] };
      const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, ps.reduce((s, p) => s + cpuSeconds(p), 0)]));
      const t0 = performance.now();
      for (const c of clients) c.send({ type: 'go' });
      const done = await Promise.all(clients.map((c) => c.next<LoadClientReport & ChildMessage>('done')));
      const seconds = (performance.now() - t0) / 1000;
      const reports = dlqCounted(route, done, (await deadLetters()) - dlq1);
      const cpuUsed = Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, ps.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0[k]]));
      const cpuPct = Object.fromEntries(Object.entries(cpuUsed).map(([k, v]) => [k, round((v / seconds) * 100)]));
      failOnErrors(reports);
      const sendsAfter = await Promise.all(collectors.map((c) => sendStats(c.url)));
      const sends = sendsAfter.reduce((s, a, i) => s + a.count - sendsBefore[i].count, 0);
      const sentMessages = sendsAfter.reduce((s, a, i) => s + a.sum - sendsBefore[i].sum, 0);
      const accepted = reports.reduce((s, r) => s + r.accepted, 0);
      const rejected = reports.reduce((s, r) => s + r.rejected, 0);
      const eventsPerS = (accepted + rejected) / seconds;
      const cpuUsPerEvent = (cpuUsed.collectors / (accepted + rejected)) * 1e6;
      const p50 = Math.max(...reports.map((r) => r.latencyMs.p50));
      const p99 = Math.max(...reports.map((r) => r.latencyMs.p99));
      say(
        `collector, ${route === 'events' ? 'POST /v1/events' : 'POST /v1/batch (Segment)'}: ${fmt(eventsPerS)} events/s (${seconds.toFixed(2)} s; ${fmt(accepted)} accepted, ${rejected} rejected; ` +
          `request p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; ${fmt(sends ? sentMessages / sends : 0)} messages per Kafka send)`,
      );
      say(
        `  CPU, % of one core: collector(s) ${cpuPct.collectors} (${cpuUsPerEvent.toFixed(1)} CPU-µs/event; ${idleCpuPct.toFixed(0)} when idle), ` +
          `load clients ${cpuPct.clients}, broker ${cpuPct.broker}`,
      );
      return {
        eventsPerS,
        accepted: accepted + warm.reduce((s, r) => s + r.accepted, 0),
        rejected: rejected + warm.reduce((s, r) => s + r.rejected, 0),
        p50,
        p99,
        cpuPct: { ...cpuPct, collectors_idle: round(idleCpuPct) },
        cpuUsPerEvent,
        messagesPerSend: sends ? sentMessages / sends : 0,
      };
    } finally {
      for (const c of clients) c.send({ type: 'stop' });
      await Promise.all(clients.map((c) => Promise.race([c.exited, new Promise((r) => setTimeout(r, 5000).unref())]).then(() => c.kill())));
    }
  };

  const before = await runBaseline('kafkajs', o.batch);
  const platformaticBefore = await runBaseline('platformatic', o.batch);
  const collector = await runCollector('events');
  const segment = await runCollector('segment');
  const platformaticAfter = await runBaseline('platformatic', o.batch);
  // The Segment floor: the same bare producer sending what the Segment messages are stored as
  // (each keeps its whole message in `properties`, DESIGN.md section 3a). The /v1/batch route
  // does all that /v1/events does and more, so `segment_ratio` cannot exceed this ratio.
  const platformaticSegment = await runBaseline('platformatic', o.batch, segmentStoredFile);
  const segmentFloorRatio = platformaticSegment.eventsPerS / platformaticAfter.eventsPerS;
  const after = await runBaseline('kafkajs', o.batch);
  const large = o.largeBatch ? await runBaseline('kafkajs', o.largeBatch) : undefined;
  const java = o.java
    ? await runJavaProducer({ cacheDir: CACHE_DIR, brokers: broker.brokers, topic: javaTopic, payloadFile, records: data.events - data.invalid, warmupRecords: o.warmupEvents, keyRange: data.events })
    : undefined;
  if (java) say(`baseline Java (ProducerPerformance, acks=all, idempotent, keyed): ${fmt(java.eventsPerS)} events/s (avg latency ${java.avgLatencyMs.toFixed(0)} ms)`);

  // Everything the collector acknowledged is in Kafka.
  const inTopic = await topicSize(broker.brokers, topics.events);
  const inDlq = await topicSize(broker.brokers, topics.dlq);
  if (inTopic !== collector.accepted + segment.accepted || inDlq !== collector.rejected + segment.rejected) {
    throw new Error(
      `Kafka holds ${inTopic} events and ${inDlq} dead letters; the collector acknowledged ${collector.accepted + segment.accepted} and rejected ${collector.rejected + segment.rejected}`,
    );
  }

  const baseline = (before.eventsPerS + after.eventsPerS) / 2;
  const ratio = collector.eventsPerS / baseline;
  const baselineCpu = (before.cpuUsPerEvent + after.cpuUsPerEvent) / 2;
  const platformatic = (platformaticBefore.eventsPerS + platformaticAfter.eventsPerS) / 2;
  const platformaticCpu = (platformaticBefore.cpuUsPerEvent + platformaticAfter.cpuUsPerEvent) / 2;
  // What the throughput ratio would be if each side had one whole core: on a machine busy with
  // other work the scheduler, not the code, decides how much CPU each side gets.
  const cpuRatio = baselineCpu / collector.cpuUsPerEvent;
  const segmentRatio = segment.eventsPerS / collector.eventsPerS;
  say(`ratio collector / baseline (sends of ${o.batch}): ${ratio.toFixed(2)}${large ? `; / baseline (sends of ${o.largeBatch}): ${(collector.eventsPerS / large.eventsPerS).toFixed(2)}` : ''}`);
  say(`ratio collector / platformatic bare producer (sends of ${o.batch}): ${(collector.eventsPerS / platformatic).toFixed(2)}${java ? `; / Java producer: ${(collector.eventsPerS / java.eventsPerS).toFixed(2)}` : ''}`);
  say(`CPU per event, baseline / collector(s): ${cpuRatio.toFixed(2)} (the ratio at one core each)`);
  say(
    `ratio /v1/batch (Segment) / /v1/events, same events: ${segmentRatio.toFixed(2)} ` +
      `(CPU per event ${(collector.cpuUsPerEvent / segment.cpuUsPerEvent).toFixed(2)}; target >= 0.9); ` +
      `floor: the bare producer with the Segment records / with the /v1/events records ${segmentFloorRatio.toFixed(2)} ` +
      `(CPU per event ${(platformaticAfter.cpuUsPerEvent / platformaticSegment.cpuUsPerEvent).toFixed(2)})`,
  );
  return {
    suite: 'ingest',
    events_per_s: round(collector.eventsPerS),
    baseline_events_per_s: round(baseline),
    ratio: round(ratio, 3),
    baseline_runs_events_per_s: [round(before.eventsPerS), round(after.eventsPerS)],
    ...(large ? { [`baseline_${o.largeBatch}_events_per_s`]: round(large.eventsPerS), [`ratio_vs_${o.largeBatch}`]: round(collector.eventsPerS / large.eventsPerS, 3) } : {}),
    baseline_idempotent: o.baselineIdempotent,
    platformatic_events_per_s: round(platformatic),
    platformatic_runs_events_per_s: [round(platformaticBefore.eventsPerS), round(platformaticAfter.eventsPerS)],
    ratio_vs_platformatic: round(collector.eventsPerS / platformatic, 3),
    ...(java ? { java_producer_events_per_s: round(java.eventsPerS), java_ratio: round(collector.eventsPerS / java.eventsPerS, 3) } : {}),
    events: o.events,
    batch: o.batch,
    collectors: o.collectors,
    clients: o.clients,
    concurrency: o.concurrency,
    cpus: os.cpus().length,
    load_average: round(os.loadavg()[0], 1),
    request_ms_p50: round(collector.p50, 1),
    request_ms_p99: round(collector.p99, 1),
    messages_per_kafka_send: round(collector.messagesPerSend),
    cpu_pct: { ...collector.cpuPct, baseline_producer: round(before.cpuPct) },
    // CPU time per event does not depend on how busy the machine is, unlike events/s.
    collector_cpu_us_per_event: round(collector.cpuUsPerEvent, 1),
    baseline_cpu_us_per_event: round(baselineCpu, 1),
    platformatic_cpu_us_per_event: round(platformaticCpu, 1),
    cpu_ratio: round(cpuRatio, 3),
    ...(large ? { [`baseline_${o.largeBatch}_cpu_us_per_event`]: round(large.cpuUsPerEvent, 1) } : {}),
    segment_events_per_s: round(segment.eventsPerS),
    segment_stored_bytes_per_event: round(data.segmentStoredBytes / data.events),
    stored_bytes_per_event: round(data.storedBytes / data.events),
    segment_ratio: round(segmentRatio, 3),
    segment_floor_ratio: round(segmentFloorRatio, 3),
    // The same ratio at one core each: the throughput ratio follows the machine's other load.
    segment_cpu_ratio: round(collector.cpuUsPerEvent / segment.cpuUsPerEvent, 3),
    segment_cpu_us_per_event: round(segment.cpuUsPerEvent, 1),
    segment_request_ms_p50: round(segment.p50, 1),
    segment_request_ms_p99: round(segment.p99, 1),
  };
}

/** For `/v1/batch` the clients count every message as accepted: the dead letters written meanwhile were not. */
function dlqCounted(route: IngestRoute, reports: LoadClientReport[], deadLetters: number): LoadClientReport[] {
  if (route !== 'segment' || deadLetters === 0) return reports;
  const [first, ...rest] = reports;
  return [{ ...first, accepted: first.accepted - deadLetters, rejected: first.rejected + deadLetters }, ...rest];
}

function failOnErrors(reports: LoadClientReport[]): void {
  const failed = reports.filter((r) => r.failures > 0);
  if (failed.length) throw new Error(`${failed.reduce((s, r) => s + r.failures, 0)} request(s) failed; first: ${failed[0].firstFailure}`);
}

async function createApp(url: string, adminToken: string): Promise<{ write_key: string }> {
  const res = await fetch(`${url}/v1/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: APP_ID }),
  });
  if (res.status !== 201) throw new Error(`creating the bench app failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { write_key: string };
}

/** Producer sends so far and their messages, from the collector's own histogram. */
async function sendStats(url: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: value('weir_ingest_kafka_send_messages_count'), sum: value('weir_ingest_kafka_send_messages_sum') };
}

async function topicSize(brokers: string[], topic: string): Promise<number> {
  const admin = createKafka(brokers, 'weir-bench-check').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}
