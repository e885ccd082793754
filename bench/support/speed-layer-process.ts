/**
 * The speed layer under test, in its own process (embedded chDB binds one data directory to
 * a process, and the Kafka-engine peer needs its own): `startSpeedLayer` on a fresh chDB
 * directory with the migrations applied and a fresh consumer group, or (the restore phase)
 * started again on the directory and group of one the bench SIGKILLed. Started with
 * `--cpu-prof` when profiling: the profile is written when this process exits normally, so
 * it stops on the parent's `stop` message.
 *
 * Freshness is the layer's own `weir_speed_freshness_seconds` (receive → queryable: taken
 * when a batch's events_rt insert has resolved, and the materialized views into hourly_rt
 * run inside that insert), with `received_at` set by the bench to the produce time: exact
 * quantiles of the observed values, and the histogram's own bucketed estimate.
 *
 * When a flush group was written is read from the outside, as anyone could: the first row
 * of `speed_progress` (one per partition of a group whose views are written) stamped at or
 * after a given time, its own `at` being the moment, so that how often it is polled does not
 * change the figure.
 *
 * Protocol: init → ready, go → started, fresh-start → fresh-started, fresh-report → fresh,
 * group-written-since {sinceMs} → group-written {atMs}, stop (exit).
 */
import { Registry } from 'prom-client';
import { createAppRegistry, type AppRegistry } from '../../infra/apps/app-registry';
import path from 'node:path';
import { createClickHouse, queryRows, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { createKafka } from '../../infra/kafka/local-broker';
import { createLogger } from '../../infra/logger';
import { topicNames } from '../../schemas/topics';
import { startSpeedLayer, type SpeedHandle } from '../../speed-layer/main';
import { createTopicIdLookup } from '../../infra/kafka/topic-id';
import { reportFatal, serveCommands } from './child';

export interface SpeedLayerInit {
  type: 'init';
  brokers: string[];
  prefix: string;
  partitions: number;
  dataDir: string;
  groupId: string;
}

let init: SpeedLayerInit;
let ch: ClickHouseHandle;
let apps: AppRegistry;
let speed: SpeedHandle | undefined;
const registry = new Registry();
/** Exact produce → queryable delays (ms) while the freshness phase runs; undefined otherwise. */
let delays: number[] | undefined;

/**
 * Every value the layer observes in its own freshness histogram (receive → queryable, taken
 * right after a batch's events_rt insert resolved) is also kept, for exact quantiles.
 */
function tapFreshness(): void {
  const h = registry.getSingleMetric('weir_speed_freshness_seconds') as unknown as { observe(v: number): void } | undefined;
  if (!h) throw new Error('the speed layer registered no weir_speed_freshness_seconds');
  const observe = h.observe.bind(h);
  h.observe = (v: number) => {
    delays?.push(v * 1000);
    observe(v);
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** A quantile of a prom-client histogram, interpolated linearly inside its bucket (as PromQL does). */
async function histogramQuantile(name: string, q: number, since: Map<number, number>): Promise<number> {
  const buckets = await bucketCounts(name);
  const counts = [...buckets.entries()].map(([le, c]) => [le, c - (since.get(le) ?? 0)] as const).sort((a, b) => a[0] - b[0]);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of counts) {
    if (c >= rank) return le === Infinity ? prevLe : prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, c - prevCount);
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}

async function bucketCounts(name: string): Promise<Map<number, number>> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const out = new Map<number, number>();
  for (const v of values) {
    if (!(v as { metricName?: string }).metricName?.endsWith("_bucket")) continue;
    const le = v.labels.le;
    out.set(le === '+Inf' ? Infinity : Number(le), v.value);
  }
  return out;
}

let freshSince = new Map<number, number>();

/** Epoch ms of the first flush group written at or after `sinceMs`, once there is one. */
async function firstGroupSince(sinceMs: number): Promise<number> {
  // Inlined integer (not a query parameter: those run one at a time across the process).
  // The alias is not `at`: it would shadow the column in WHERE.
  const query = `SELECT toUnixTimestamp64Milli(min(at)) AS first_ms, count() AS n FROM speed_progress WHERE at >= fromUnixTimestamp64Milli(toInt64(${Math.floor(sinceMs)}), 'UTC')`;
  for (;;) {
    const [r] = await queryRows<{ first_ms: string; n: string }>(ch.client, query);
    if (Number(r.n) > 0) return Number(r.first_ms);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function stop(code: number): Promise<never> {
  await speed?.stop().catch(() => undefined);
  apps?.close();
  await ch?.close().catch(() => undefined);
  process.exit(code);
}

serveCommands(async (m) => {
  if (m.type === 'init') {
    init = m as SpeedLayerInit;
    ch = createClickHouse({ clickhouse: { url: undefined, database: 'default' }, dataDir: init.dataDir });
    await migrate(ch.client);
    apps = createAppRegistry(ch.client, { defaultLookbackDays: 7 });
    process.send?.({ type: 'ready', pid: process.pid });
  } else if (m.type === 'go') {
    const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
    const cfg = {
      kafka: { brokers: init.brokers, eventsPartitions: init.partitions, topics: topicNames(init.prefix), security: {} },
      ipBlocklist: [],
      lookbackDays: 7,
      groupId: init.groupId,
    };
    speed = await startSpeedLayer(cfg, {
      kafka: createKafka(init.brokers, 'weir-bench-speed'),
      topicIdOf: createTopicIdLookup(init.brokers),
      ch: ch.client,
      apps,
      registry,
      log,
      onFatal: (err) => reportFatal(err),
      // As `weir start` runs it on the embedded engine.
      stagingDir: path.join(init.dataDir, 'speed-staging'),
      concurrent: ch.concurrent,
    });
    tapFreshness();
    process.send?.({ type: 'started' });
  } else if (m.type === 'fresh-start') {
    delays = [];
    freshSince = await bucketCounts('weir_speed_freshness_seconds');
    process.send?.({ type: 'fresh-started' });
  } else if (m.type === 'fresh-report') {
    const d = (delays ?? []).sort((a, b) => a - b);
    delays = undefined;
    const hq = async (q: number) => (await histogramQuantile('weir_speed_freshness_seconds', q, freshSince)) * 1000;
    process.send?.({
      type: 'fresh',
      rows: d.length,
      p50: quantile(d, 0.5),
      p99: quantile(d, 0.99),
      max: d.at(-1) ?? Number.NaN,
      histP50: await hq(0.5),
      histP99: await hq(0.99),
    });
  } else if (m.type === 'group-written-since') {
    process.send?.({ type: 'group-written', atMs: await firstGroupSince((m as { type: string; sinceMs: number }).sinceMs) });
  } else if (m.type === 'stop') {
    await stop(0);
  }
}, stop);
