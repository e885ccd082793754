/**
 * `weir start [--role …] [--demo]`: the composition root. Builds the shared dependencies
 * (Kafka, ClickHouse, object store, app registry), starts the roles of this process and one
 * HTTP server for their routes, and stops everything in reverse order on SIGTERM/SIGINT.
 * With no role every role runs in this one process (the embedded default: chDB binds one
 * data directory per process).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Router } from 'express';
import type { Kafka } from 'kafkajs';
import { adminAppsRouter } from '../infra/apps/admin-routes';
import { createAppRegistry, type AppRegistry } from '../infra/apps/app-registry';
import { createClickHouse, type ClickHouseHandle } from '../infra/clickhouse/client';
import { migrate } from '../infra/clickhouse/migrate';
import type { Config } from '../infra/config';
import { startHttpServer, type HealthCheck, type HttpServerHandle, type ReadinessCheck } from '../infra/http/http-server';
import { createKafka, ensureTopics, startLocalBroker, waitForKafka, type LocalBroker } from '../infra/kafka/local-broker';
import { createKafkaProbe } from '../infra/kafka/kafka-probe';
import { createTopicIdLookup } from '../infra/kafka/topic-id';
import { createLogger, type Logger } from '../infra/logger';
import { createMetricsRegistry } from '../infra/metrics';
import { createObjectStore, type ObjectStore } from '../infra/object-store/object-store';
import { CACHE_DIR } from '../infra/paths';
import { startArchiver } from '../ingest/archiver/main';
import { startCollector } from '../ingest/collector/main';
import { startSpeedLayer } from '../speed-layer/main';
import { startBatchLayer } from '../batch-layer/main';
import { startServing } from '../serving/main';
import { dashboardRouter } from '../serving/dashboard/dashboard-router';
import { startDemoTraffic } from './demo-traffic';

export const ROLES = ['ingest', 'archiver', 'speed', 'batch', 'serving'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What each role uses, and which of those its `/ready` waits for: a process is ready when
 * what its roles need to do their work is reachable. Serving answers from ClickHouse alone.
 * Ingest reads ClickHouse only for the app registry, whose keys it holds in memory, so known
 * keys keep working while ClickHouse is down and ingest is ready on Kafka alone.
 */
const NEEDS = {
  ingest: { kafka: true, clickhouse: true, store: false, readyOnClickhouse: false },
  archiver: { kafka: true, clickhouse: false, store: true, readyOnClickhouse: false },
  speed: { kafka: true, clickhouse: true, store: false, readyOnClickhouse: true },
  batch: { kafka: true, clickhouse: true, store: true, readyOnClickhouse: true },
  serving: { kafka: false, clickhouse: true, store: false, readyOnClickhouse: true },
} satisfies Record<Role, { kafka: boolean; clickhouse: boolean; store: boolean; readyOnClickhouse: boolean }>;

export interface StartOptions {
  /** One role, or several (tests); unset: every role. */
  role?: Role | Role[];
  demo: boolean;
  /** Events/s of demo traffic. */
  demoRate?: number;
}

export interface Running {
  url: string;
  /** Where `/v1/admin/*` and `/metrics` are served: the INTERNAL_PORT listener when set, else `url`. */
  adminUrl: string;
  adminToken: string;
  demoKeys?: { app_id: string; write_key: string; read_key: string };
  /** The process's ClickHouse client, when a role uses one (tests read the views through it). */
  clickhouse?: ClickHouseHandle['client'];
  stop(): Promise<void>;
}

export class StartupError extends Error {}

export async function startWeir(cfg: Config, opts: StartOptions, log: Logger = createLogger(cfg.logLevel)): Promise<Running> {
  const roles: Role[] = opts.role ? [...new Set([opts.role].flat())] : [...ROLES];
  const registry = createMetricsRegistry();
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  const checks: Record<string, ReadinessCheck> = {};
  const health: Record<string, HealthCheck> = {};
  const routers: Router[] = [];
  const adminRouters: Router[] = [];
  const onStop = (name: string, stop: () => Promise<void>) => stops.push({ name, stop });

  async function stopAll(): Promise<void> {
    for (const s of stops.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        log.error({ err, component: s.name }, 'stop failed');
      }
    }
  }

  // A role that cannot go on takes the process down loudly, after a clean stop of the rest.
  const fatal = (name: string) => (err: Error) => {
    log.fatal({ err }, `${name} failed; exiting`);
    process.exitCode = 1;
    void stopAll().finally(() => process.exit(1));
  };

  try {
    // Each role process would otherwise generate its own token: no one token would open them all.
    if (opts.role && !cfg.adminToken) throw new StartupError('ADMIN_TOKEN is required with --role (every process of a deployment must share one token)');
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    // Only a process with a role that uses Kafka connects to it: serving alone runs without it.
    const connection = roles.some((r) => NEEDS[r].kafka) ? await connectKafka(cfg, opts, log, onStop) : undefined;
    if (connection) {
      const kafkaProbe = createKafkaProbe(connection.kafka, cfg.kafka.topics.events);
      onStop('kafka probe', kafkaProbe.stop);
      checks.kafka = kafkaProbe.check;
    }
    // Set whenever a role below uses them (NEEDS).
    const { kafka, brokers } = (connection ?? {}) as { kafka: Kafka; brokers: string[] };

    let ch: ClickHouseHandle | undefined;
    let apps: AppRegistry | undefined;
    if (roles.some((r) => NEEDS[r].clickhouse)) {
      ch = createClickHouse(cfg);
      onStop('clickhouse', ch.close);
      const { client, ensureDatabase, kind } = ch;
      await component('ClickHouse', cfg.clickhouse.url ?? `embedded chDB in ${cfg.dataDir}/clickhouse`, async () => {
        const ping = await client.ping();
        if (!ping.success) throw ping.error;
        await ensureDatabase();
        await migrate(client, { lock: kind === 'server' });
      });
      if (roles.some((r) => NEEDS[r].readyOnClickhouse)) {
        checks.clickhouse = async () => {
          const ping = await client.ping();
          if (!ping.success) throw ping.error;
        };
      }
      apps = createAppRegistry(client, { defaultLookbackDays: cfg.lookbackDays, keyGraceMs: cfg.keyGraceSeconds * 1000 });
      onStop('apps', async () => apps?.close());
      await apps.refresh();
    }

    let store: ObjectStore | undefined;
    if (roles.some((r) => NEEDS[r].store)) {
      const s = createObjectStore(cfg.objectStore.url, cfg.objectStore.s3);
      store = s;
      await component('object store', cfg.objectStore.url, () => s.ping());
      checks.object_store = () => s.ping();
    }

    const adminToken = cfg.adminToken ?? randomBytes(24).toString('base64url');

    const topicIdOf = createTopicIdLookup(brokers, cfg.kafka.security);
    for (const role of roles) {
      if (role === 'ingest') {
        const collector = await startCollector(cfg, { brokers, apps: apps as AppRegistry, registry, log });
        onStop('collector', collector.stop);
        routers.push(collector.router);
        adminRouters.push(adminAppsRouter({ apps: apps as AppRegistry, adminToken }));
      }
      if (role === 'archiver') {
        const archiver = await startArchiver(
          { groupId: `${cfg.kafka.topics.events}-archiver`, topics: cfg.kafka.topics },
          {
            kafka,
            store: store as ObjectStore,
            registry,
            log,
            onFatal: fatal('archiver'),
            topicIdOf,
          },
        );
        onStop('archiver', archiver.stop);
        checks.archiver = archiver.ready;
        health.archiver = archiver.healthy;
      }
      if (role === 'speed') {
        const handle = ch as ClickHouseHandle;
        const stagingDir = handle.kind === 'embedded' ? path.join(cfg.dataDir, 'speed-staging') : undefined;
        const speed = await startSpeedLayer(cfg, { kafka, ch: handle.client, apps: apps as AppRegistry, registry, log, onFatal: fatal('speed layer'), topicIdOf, stagingDir, concurrent: handle.concurrent });
        onStop('speed layer', speed.stop);
        checks.speed = speed.ready;
        health.speed = speed.healthy;
      }
      if (role === 'batch') {
        const batch = await startBatchLayer(cfg, { ch: (ch as ClickHouseHandle).client, store: store as ObjectStore, kafka, topicIdOf, registry, log, schedule: true, adminToken });
        onStop('batch layer', batch.stop);
        adminRouters.push(batch.router);
      }
      if (role === 'serving') {
        const serving = await startServing(cfg, { ch: (ch as ClickHouseHandle).client, apps: apps as AppRegistry, registry, log });
        onStop('serving', serving.stop);
        routers.push(serving.router, dashboardRouter());
        if (!roles.includes('ingest')) adminRouters.push(adminAppsRouter({ apps: apps as AppRegistry, adminToken }));
      }
    }

    const http: HttpServerHandle = await startHttpServer({ ...cfg.http, routers, adminRouters, checks, health, registry, log });
    // The HTTP server stops first: no new work while the rest drains.
    stops.push({ name: 'http', stop: http.stop });

    let demoKeys: Running['demoKeys'];
    if (opts.demo && apps) {
      demoKeys = await ensureDemoApp(apps, cfg.dataDir);
      const demo = startDemoTraffic({ url: http.url, appId: demoKeys.app_id, writeKey: demoKeys.write_key, rate: opts.demoRate ?? 200, log });
      stops.push({ name: 'demo traffic', stop: demo.stop });
    }
    log.info({ url: http.url, roles }, 'weir started');
    return { url: http.url, adminUrl: http.internal?.url ?? http.url, adminToken, demoKeys, clickhouse: ch?.client, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function connectKafka(
  cfg: Config,
  opts: StartOptions,
  log: Logger,
  onStop: (n: string, s: () => Promise<void>) => void,
): Promise<{ kafka: Kafka; brokers: string[] }> {
  let brokers = cfg.kafka.brokers;
  if (!brokers) {
    if (opts.role) throw new StartupError('KAFKA_BROKERS is required with --role (one role per process shares a cluster)');
    log.info('starting the local Kafka broker (first run resolves its jars with Maven)');
    const broker: LocalBroker = await component('Kafka', 'local broker', () =>
      // Its own process group: a terminal's Ctrl-C (SIGINT to the whole foreground group) must
      // reach only weir, which stops the consumers first and the broker last (registered first,
      // stopped last); a broker that took the signal itself would be gone while they leave.
      startLocalBroker({ dataDir: path.join(cfg.dataDir, 'kafka'), cacheDir: CACHE_DIR, detached: true, log: (m) => log.info({ component: 'kafka-broker' }, m) }),
    );
    onStop('kafka broker', broker.stop);
    brokers = broker.brokers;
  }
  const b = brokers;
  await component('Kafka', b.join(','), async () => {
    await waitForKafka(b, { timeoutMs: 30_000, security: cfg.kafka.security });
    const warnings = await ensureTopics(
      b,
      [
        { topic: cfg.kafka.topics.events, numPartitions: cfg.kafka.eventsPartitions },
        { topic: cfg.kafka.topics.dlq, numPartitions: 1 },
        { topic: cfg.kafka.topics.attributions, numPartitions: cfg.kafka.eventsPartitions },
      ],
      cfg.kafka.security,
    );
    // Warnings, not failures: the operator owns the cluster's topics, and weir runs on them as they are.
    for (const w of warnings) log.warn({ component: 'kafka', topic: w.topic, ...w.figures }, w.message);
  });
  return { kafka: createKafka(b, 'weir', { logger: log, security: cfg.kafka.security }), brokers: b };
}

/** Runs a start-up step, turning its failure into an error that names the component. */
async function component<T>(name: string, where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new StartupError(`${name} is unreachable (${where}): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The `demo` app. Keys are shown once and stored hashed, so the one-machine default keeps
 * the demo app's keys in DATA_DIR to reuse them on the next start.
 */
async function ensureDemoApp(apps: AppRegistry, dataDir: string): Promise<NonNullable<Running['demoKeys']>> {
  const file = path.join(dataDir, 'demo-keys.json');
  if (fs.existsSync(file) && (await apps.get('demo'))) {
    const keys = JSON.parse(fs.readFileSync(file, 'utf8')) as NonNullable<Running['demoKeys']>;
    if (await apps.authenticate(keys.write_key, 'write')) return keys;
  }
  if (await apps.get('demo')) {
    throw new StartupError(`the demo app exists but its keys are not in ${file}; remove ${dataDir} to start afresh`);
  }
  const created = await apps.create('demo', {});
  const keys = { app_id: 'demo', write_key: created.write_key, read_key: created.read_key };
  fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}
