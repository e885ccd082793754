/**
 * The single-node Kafka broker (KRaft) that weir provisions and runs itself when no
 * KAFKA_BROKERS are configured: the Apache Kafka jars from Maven Central (see pom.xml next to
 * this file), started with the local `java` (17+). Also the kafkajs client factory and topic
 * set-up that every layer uses, against this broker or a real cluster alike.
 *
 * The timings and settings here follow /work/shared/FIELD-NOTES.md, "Kafka broker from the
 * Apache jars"; measure again before changing the Kafka version.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { access, link, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Kafka, KafkaJSSASLAuthenticationError, logLevel } from 'kafkajs';
import { pinoLogCreator } from './kafkajs-log';
import { kafkajsSecurity, type KafkaSecurity } from './security';
import { inspectTopics, topicReplication, topicWarnings, type TopicWarning } from './topic-policy';
import type { Logger } from 'pino';

/** Must match `kafka.version` in pom.xml: it names the jar cache directory. */
export const KAFKA_VERSION = '4.4.0';

const POM_PATH = path.join(__dirname, 'pom.xml');
const HOST = '127.0.0.1';
const DEFAULT_HEAP_MB = 384;
// After a SIGKILL the next start waits for the old broker session to expire
// (DUPLICATE_BROKER_REGISTRATION): 12–14 s measured, so 60 s leaves room on a busy machine.
const DEFAULT_READY_TIMEOUT_MS = 60_000;
// A SIGTERMed broker does a controlled shutdown in ~2 s; past this it is stuck and gets SIGKILL.
const DEFAULT_STOP_TIMEOUT_MS = 20_000;
const LOG_TAIL_LINES = 40;

/** Files the broker keeps in its data directory. */
const files = (dataDir: string) => ({
  properties: path.join(dataDir, 'server.properties'),
  log4j: path.join(dataDir, 'log4j2.properties'),
  /** Kafka's own log, written by log4j (rolled at 10 MB). */
  log: path.join(dataDir, 'broker.log'),
  /** The JVM's stdout/stderr: crashes before log4j starts (bad Java version, OOM) land here. */
  out: path.join(dataDir, 'broker.out'),
  pid: path.join(dataDir, 'broker.pid'),
  /** Held (holding the starter's pid) while a process starts the broker. */
  startLock: path.join(dataDir, 'broker.starting'),
  /** Ports chosen at the first start, reused on restarts: clients and the quorum config keep them. */
  ports: path.join(dataDir, 'broker-ports.json'),
  /** Kafka's `log.dirs`: topic data and the KRaft metadata log. */
  logDirs: path.join(dataDir, 'kafka-logs'),
});

type Log = (msg: string) => void;
const silent: Log = () => {};

export type ListenerProtocol = 'SSL' | 'SASL_SSL' | 'SASL_PLAINTEXT';

/** Ports chosen at the first start; `listeners` are the extra listeners' (by name). */
interface BrokerPorts {
  port: number;
  controllerPort: number;
  listeners: Record<string, number>;
}

export interface LocalBroker {
  /** `host:port` list for kafkajs: the PLAINTEXT listener. */
  brokers: string[];
  /** `host:port` of each extra listener, by name (`extraListeners`). */
  listeners: Record<string, string>;
  /** The ports in use; pass them again to restart on the same dataDir elsewhere. */
  port: number;
  controllerPort: number;
  pid: number;
  dataDir: string;
  /** Graceful: SIGTERM, then SIGKILL after the stop timeout. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, no controlled shutdown: for crash tests. Idempotent. */
  kill(): Promise<void>;
}

export interface StartLocalBrokerOptions {
  /** Holds config, logs, the pid file and the Kafka data; reuse it to keep topics across restarts. */
  dataDir: string;
  /** Jar cache; callers use `<repo>/.cache`. */
  cacheDir: string;
  /** 0 or unset: the port stored in dataDir from an earlier start, else a free one. */
  port?: number;
  controllerPort?: number;
  heapMb?: number;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  /**
   * Listeners beside PLAINTEXT, which stays the one the broker talks to itself on, the one
   * `brokers` names and the one probed for readiness. Each gets a free port at the first start
   * (kept in dataDir, as the others are); the name is also its security protocol. Their TLS
   * and SASL settings come in `extraProperties`. Used to test weir's managed-Kafka settings
   * (TLS, SASL) against a real broker.
   */
  extraListeners?: ListenerProtocol[];
  /** server.properties entries added to (or replacing) the defaults, e.g. `listener.name.sasl_ssl.*`. */
  extraProperties?: Record<string, string>;
  /** Arguments added to the storage formatter's, e.g. `--add-scram` (SCRAM users are KRaft metadata); used only when dataDir is formatted. */
  formatArgs?: string[];
  /**
   * Start the JVM in its own process group, so that it outlives a terminal's Ctrl-C or hang-up
   * (`weir kafka start`). Either way the handle does not keep the Node process alive.
   */
  detached?: boolean;
  log?: Log;
}

/**
 * Resolves the broker's jars into `<cacheDir>/kafka-<version>/libs` with Maven, once.
 * A marker file holds the pom's hash, so editing the pom resolves again rather than keeping stale jars.
 */
export async function ensureKafkaJars(opts: { cacheDir: string; log?: Log }): Promise<string> {
  const log = opts.log ?? silent;
  const versionDir = path.join(path.resolve(opts.cacheDir), `kafka-${KAFKA_VERSION}`);
  const libsDir = path.join(versionDir, 'libs');
  const marker = path.join(versionDir, 'resolved.sha256');
  const digest = createHash('sha256')
    .update(await readFile(POM_PATH))
    .digest('hex');
  const brokerJar = path.join(libsDir, `kafka_2.13-${KAFKA_VERSION}.jar`); // gone if someone cleaned libs/ by hand
  const resolved = async () =>
    (await readTextIfExists(marker))?.trim() === digest && (await access(brokerJar).then(() => true, () => false));
  if (await resolved()) return libsDir;

  await mkdir(versionDir, { recursive: true });
  // Resolve into a private directory and move it into place, so that a second process
  // resolving at the same time, or an interrupted download, never leaves a half-filled libs/.
  const staging = path.join(versionDir, `libs.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  log(`resolving the Kafka ${KAFKA_VERSION} jars with Maven into ${libsDir}`);
  const started = Date.now();
  try {
    await runToCompletion(
      'mvn',
      ['-q', '-B', '-f', POM_PATH, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'],
      'Maven (mvn) is needed to fetch the Kafka jars from Maven Central; install it, or set KAFKA_BROKERS to use an existing cluster',
    );
    if (await resolved()) return libsDir; // another process finished first
    await rm(marker, { force: true });
    await rm(libsDir, { recursive: true, force: true });
    await rename(staging, libsDir);
    await writeFile(marker, `${digest}\n`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  log(`resolved the Kafka jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return libsDir;
}

/** Pinned, so that the resolved jar does not change under a cache hit. */
const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/**
 * Resolves `kafka-tools` (Kafka's own `ProducerPerformance`, which `npm run bench -- ingest`
 * runs as the Java reference) into `<cacheDir>/kafka-<version>/tools`, once. Its other
 * dependencies (argparse4j, jackson, kafka-clients) are among the broker's jars already.
 */
export async function ensureKafkaToolsJar(opts: { cacheDir: string; log?: Log }): Promise<string> {
  const toolsDir = path.join(path.resolve(opts.cacheDir), `kafka-${KAFKA_VERSION}`, 'tools');
  const jar = path.join(toolsDir, `kafka-tools-${KAFKA_VERSION}.jar`);
  if (await access(jar).then(() => true, () => false)) return jar;
  (opts.log ?? silent)(`resolving kafka-tools ${KAFKA_VERSION} with Maven into ${toolsDir}`);
  // Into a private directory first, as ensureKafkaJars does: a half-written jar never has the final name.
  const staging = `${toolsDir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await runToCompletion(
      'mvn',
      ['-q', '-B', `${MAVEN_DEPENDENCY_PLUGIN}:copy`, `-Dartifact=org.apache.kafka:kafka-tools:${KAFKA_VERSION}`, `-DoutputDirectory=${staging}`],
      'Maven (mvn) is needed to fetch kafka-tools from Maven Central',
    );
    await mkdir(toolsDir, { recursive: true });
    await rename(path.join(staging, path.basename(jar)), jar);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return jar;
}

/**
 * Starts the broker and resolves once it answers admin requests. On an existing dataDir it
 * keeps the data, the cluster id and (unless told otherwise) the ports of the earlier start.
 */
export async function startLocalBroker(opts: StartLocalBrokerOptions): Promise<LocalBroker> {
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  // Two starters on one dataDir (parallel test workers restarting the shared broker) would
  // overwrite each other's pid file, and the loser's exit would then delete the winner's,
  // leaving a broker nobody can stop by its pid file.
  return withStartLock(dataDir, () => startUnlocked(opts, dataDir));
}

async function startUnlocked(opts: StartLocalBrokerOptions, dataDir: string): Promise<LocalBroker> {
  const log = opts.log ?? silent;
  const f = files(dataDir);
  const running = await runningBrokerPid(dataDir);
  if (running !== undefined) {
    throw new Error(`a Kafka broker (pid ${running}) already runs on ${dataDir}; stop it first (weir kafka stop)`);
  }
  await rm(f.pid, { force: true }); // stale: its process is gone

  const libsDir = await ensureKafkaJars({ cacheDir: opts.cacheDir, log });
  const ports = await choosePorts(dataDir, opts);
  const brokers = [`${HOST}:${ports.port}`];
  await writeFile(f.ports, `${JSON.stringify(ports)}\n`);
  await writeFile(f.properties, serverProperties(f.logDirs, ports, opts.extraProperties));
  await writeFile(f.log4j, log4jProperties(f.log));

  const classpath = path.join(libsDir, '*'); // expanded by the JVM, not by a shell
  const jvmArgs = [
    `-Xmx${opts.heapMb ?? DEFAULT_HEAP_MB}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    // A broker that ran out of memory is half-alive; better dead, with the reason in broker.out.
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${f.log4j}`,
    '-cp',
    classpath,
  ];

  if (!(await exists(path.join(f.logDirs, 'meta.properties')))) {
    log(`formatting KRaft storage in ${f.logDirs}`);
    await runToCompletion(
      'java',
      [...jvmArgs, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', f.properties, '--ignore-formatted', ...(opts.formatArgs ?? [])],
      'Java 17+ (java on PATH) is needed to run the local Kafka broker',
    );
  }

  const out = await open(f.out, 'a');
  const started = Date.now();
  let child;
  try {
    child = spawn('java', [...jvmArgs, 'kafka.Kafka', f.properties], {
      cwd: dataDir,
      stdio: ['ignore', out.fd, out.fd],
      detached: opts.detached ?? false,
    });
    await once(child, 'spawn');
  } catch (err) {
    throw new Error(`could not start java for the local Kafka broker: ${String(err)}`, { cause: err });
  } finally {
    await out.close(); // the child holds its own copy of the descriptor
  }
  // The handle must not keep Node alive: `weir kafka start` exits while the broker runs on, and a
  // test worker that restarted the broker ends before global teardown stops it by its pid file.
  child.unref();
  const pid = child.pid as number;
  await writeFile(f.pid, `${pid}\n`);

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      void removePidFile(dataDir, pid).finally(resolve);
    });
  });
  const waitForExit = async (timeoutMs: number): Promise<boolean> => {
    // The timer also keeps the event loop alive while we wait on the unref'd child.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([exited.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };

  let stopping: Promise<void> | undefined;
  const stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const handle: LocalBroker = {
    brokers,
    listeners: Object.fromEntries(Object.entries(ports.listeners).map(([name, port]) => [name, `${HOST}:${port}`])),
    port: ports.port,
    controllerPort: ports.controllerPort,
    pid,
    dataDir,
    stop: () =>
      (stopping ??= (async () => {
        if (exit) return;
        child.kill('SIGTERM');
        if (await waitForExit(stopTimeoutMs)) return;
        log(`Kafka broker pid ${pid} ignored SIGTERM for ${stopTimeoutMs} ms; killing it`);
        child.kill('SIGKILL');
        if (!(await waitForExit(10_000))) throw new Error(`Kafka broker pid ${pid} did not exit after SIGKILL`);
      })()),
    kill: async () => {
      if (!exit) child.kill('SIGKILL');
      if (!(await waitForExit(10_000))) throw new Error(`Kafka broker pid ${pid} did not exit after SIGKILL`);
      await (stopping ??= Promise.resolve());
    },
  };

  const deadline = started + (opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  let lastError: unknown;
  while (!exit) {
    if (Date.now() > deadline) {
      await handle.kill().catch(() => {});
      throw await startupError(dataDir, `not ready after ${Date.now() - started} ms (last probe: ${errorText(lastError)})`);
    }
    const outcome = await Promise.race([
      probeKafka(brokers).then(
        () => 'ready' as const,
        (err: unknown) => {
          lastError = err;
          return 'not-ready' as const;
        },
      ),
      exited.then(() => 'exited' as const),
    ]);
    if (outcome === 'ready') {
      try {
        await warmUpCoordinators(brokers, Math.max(deadline - Date.now(), 5000));
      } catch (err) {
        await handle.kill().catch(() => {});
        throw await startupError(dataDir, `answered, but its group and producer-id coordinators did not start: ${errorText(err)}`);
      }
      log(`Kafka ${KAFKA_VERSION} ready on ${brokers.join(',')} (pid ${pid}) in ${Date.now() - started} ms`);
      return handle;
    }
    if (outcome === 'not-ready') await Promise.race([delay(250), exited]);
  }
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
  throw await startupError(dataDir, `exited with ${how} before it was ready`);
}

/**
 * Waits until the brokers answer admin requests (the port opens before the broker serves).
 * Refused credentials or a certificate the client does not trust fail at once: waiting would
 * not change them, and the operator should read why rather than a timeout.
 */
export async function waitForKafka(brokers: string[], opts: { timeoutMs?: number; security?: KafkaSecurity } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  for (;;) {
    try {
      return await probeKafka(brokers, opts.security);
    } catch (err) {
      if (err instanceof KafkaJSSASLAuthenticationError) {
        const sasl = opts.security?.sasl;
        throw new Error(`Kafka at ${brokers.join(',')} refused the SASL ${sasl?.mechanism} login of user '${sasl?.username}' (KAFKA_SASL_*): ${err.message}`, { cause: err });
      }
      if (isTlsVerificationError(err)) {
        throw new Error(`Kafka at ${brokers.join(',')} presented a certificate this client does not trust (KAFKA_SSL_CA_FILE names the CA of a private one): ${errorText(err)}`, { cause: err });
      }
      if (Date.now() > deadline) throw new Error(`Kafka at ${brokers.join(',')} is not ready: ${errorText(err)}`, { cause: err });
      await delay(250);
    }
  }
}

/** The broker started on dataDir by any process, if it is still running. */
export async function readBrokerInfo(dataDir: string): Promise<{ brokers: string[]; pid: number } | undefined> {
  const dir = path.resolve(dataDir);
  const pid = await runningBrokerPid(dir);
  if (pid === undefined) return undefined;
  const ports = await readPorts(dir);
  if (!ports) return undefined;
  return { brokers: [`${HOST}:${ports.port}`], pid };
}

/**
 * Stops the broker started on dataDir by any process (`weir kafka stop`, tests). Resolves to
 * false when none was running. SIGTERM waits for the controlled shutdown, then escalates.
 */
export async function stopBrokerByPidFile(
  dataDir: string,
  opts: { timeoutMs?: number; signal?: 'SIGTERM' | 'SIGKILL' } = {},
): Promise<boolean> {
  const dir = path.resolve(dataDir);
  const pid = await runningBrokerPid(dir);
  if (pid === undefined) {
    await rm(files(dir).pid, { force: true });
    return false;
  }
  const signal = opts.signal ?? 'SIGTERM';
  signalPid(pid, signal);
  if (!(await waitForPidExit(pid, opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS))) {
    if (signal === 'SIGKILL') throw new Error(`Kafka broker pid ${pid} did not exit after SIGKILL`);
    signalPid(pid, 'SIGKILL');
    if (!(await waitForPidExit(pid, 10_000))) throw new Error(`Kafka broker pid ${pid} did not exit after SIGKILL`);
  }
  await removePidFile(dir, pid);
  return true;
}

/**
 * Record batches up to this size are accepted on the topics we create. The collector's sends
 * gather many requests (up to MAX_BODY_BYTES each, plus DLQ copies of bad events), which can
 * exceed the broker's 1 MB default for one partition.
 */
export const TOPIC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Creates the topics that do not exist yet, replicated for the cluster's size (topic-policy.ts:
 * RF = min(3, brokers), min.insync.replicas = RF − 1, at least 1). Existing topics are left
 * alone, partition count included: adding partitions would move keys (app_id + device_id) to
 * other partitions. Returns the warnings every topic (existing or new: a new one inherits the
 * cluster's retention) deserves, for the caller to log.
 */
export async function ensureTopics(brokers: string[], topics: { topic: string; numPartitions: number }[], security?: KafkaSecurity): Promise<TopicWarning[]> {
  const admin = createKafka(brokers, 'weir-ensure-topics', { security }).admin();
  await admin.connect();
  try {
    const clusterSize = (await admin.describeCluster()).brokers.length;
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      const { replicationFactor, minInsyncReplicas } = topicReplication(clusterSize);
      // Another process creating the same topic meanwhile is fine: kafkajs returns false for
      // TOPIC_ALREADY_EXISTS instead of throwing.
      await admin.createTopics({
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor,
          configEntries: [
            { name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) },
            { name: 'min.insync.replicas', value: String(minInsyncReplicas) },
          ],
        })),
        waitForLeaders: true,
      });
    }
    const figures = await inspectTopics(admin, topics.map((t) => t.topic));
    return figures.flatMap((f) => topicWarnings(f, clusterSize));
  } finally {
    await admin.disconnect();
  }
}

export interface CreateKafkaOptions {
  /** Client-level retries; these govern reconnects, the producer's own `retry` does not. */
  retries?: number;
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Forward kafkajs logs to this pino logger (otherwise kafkajs logs JSON to stdout itself). */
  logger?: Logger;
  /** Default ERROR: kafkajs is chatty at INFO (every join, every reconnect). */
  logLevel?: logLevel;
  /** TLS/SASL to a managed cluster; none for the local broker. */
  security?: KafkaSecurity;
}

/**
 * The kafkajs client every layer uses. The defaults make a send fail in 1–10 s while the broker
 * is down (kafkajs' own defaults take ~23 s), so the collector can answer 503 in time; the
 * producer reconnects by itself when the broker comes back.
 */
export function createKafka(brokers: string[], clientId: string, opts: CreateKafkaOptions = {}): Kafka {
  if (brokers.length === 0) throw new Error('createKafka: no brokers given');
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: opts.connectionTimeoutMs ?? 1000,
    requestTimeout: opts.requestTimeoutMs ?? 3000,
    retry: { retries: opts.retries ?? 2 },
    logLevel: opts.logLevel ?? logLevel.ERROR,
    ...(opts.logger ? { logCreator: pinoLogCreator(opts.logger) } : {}),
    ...kafkajsSecurity(opts.security),
  });
}

// --- broker config -----------------------------------------------------------------------

function serverProperties(logDirs: string, ports: BrokerPorts, extra: Record<string, string> = {}): string {
  const extraListeners = Object.entries(ports.listeners);
  const advertised = [`PLAINTEXT://${HOST}:${ports.port}`, ...extraListeners.map(([name, port]) => `${name}://${HOST}:${port}`)].join(',');
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${HOST}:${ports.controllerPort}`,
    listeners: `${advertised},CONTROLLER://${HOST}:${ports.controllerPort}`,
    'advertised.listeners': advertised,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT', ...extraListeners.map(([name]) => `${name}:${name}`)].join(','),
    'log.dirs': logDirs,
    // One node: every replication factor must be 1, or the internal topics never get created
    // and consumer groups / transactions hang.
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // No other members will join: waiting 3 s for them only delays every first join.
    'group.initial.rebalance.delay.ms': 0,
    // Topics come from ensureTopics with their partition count; a typo must fail, not create a topic.
    'auto.create.topics.enable': false,
    ...extra,
  };
  const lines = Object.entries(props).map(([k, v]) => `${k}=${escapeProperty(String(v))}`);
  return `# Written by infra/kafka/local-broker.ts at every start; edits are overwritten.\n${lines.join('\n')}\n`;
}

function log4jProperties(logFile: string): string {
  // To a rolled file, not stdout: the broker runs unattended and its INFO chatter would bury
  // the app's own logs. INFO is kept because start-up failures are explained at INFO.
  return [
    'status = warn',
    'appender.file.type = RollingFile',
    'appender.file.name = file',
    `appender.file.fileName = ${escapeProperty(logFile)}`,
    `appender.file.filePattern = ${escapeProperty(logFile)}.%i`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'appender.file.policies.type = Policies',
    'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size = 10MB',
    'appender.file.strategy.type = DefaultRolloverStrategy',
    'appender.file.strategy.max = 3',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = file',
    // One line per slow request at INFO/DEBUG; nothing we need locally.
    'logger.request.name = kafka.request.logger',
    'logger.request.level = WARN',
    '',
  ].join('\n');
}

/** Java .properties values treat backslash as an escape (Windows paths). */
const escapeProperty = (v: string) => v.replace(/\\/g, '\\\\');

/** Same format as Kafka's `Uuid.randomUuid()` (22 chars of base64url), without starting a JVM for it. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // Kafka rejects ids that look like a command-line flag
  }
}

async function choosePorts(dataDir: string, opts: Pick<StartLocalBrokerOptions, 'port' | 'controllerPort' | 'extraListeners'>): Promise<BrokerPorts> {
  const stored = await readPorts(dataDir);
  const wanted = {
    port: opts.port || stored?.port || 0,
    controllerPort: opts.controllerPort || stored?.controllerPort || 0,
    listeners: Object.fromEntries((opts.extraListeners ?? []).map((name) => [name, stored?.listeners[name] ?? 0])),
  };
  const chosen = [wanted.port, wanted.controllerPort, ...Object.values(wanted.listeners)];
  const free = await freePorts(chosen.filter((p) => p === 0).length, chosen);
  const pick = (p: number) => p || (free.shift() as number);
  return {
    port: pick(wanted.port),
    controllerPort: pick(wanted.controllerPort),
    listeners: Object.fromEntries(Object.entries(wanted.listeners).map(([name, p]) => [name, pick(p)])),
  };
}

async function readPorts(dataDir: string): Promise<BrokerPorts | undefined> {
  const text = await readTextIfExists(files(dataDir).ports);
  if (text === undefined) return undefined;
  const parsed = JSON.parse(text) as { port?: unknown; controllerPort?: unknown; listeners?: unknown };
  if (typeof parsed.port !== 'number' || typeof parsed.controllerPort !== 'number') {
    throw new Error(`${files(dataDir).ports} is not {"port": n, "controllerPort": n}`);
  }
  // Files written before extra listeners existed have none.
  const listeners = typeof parsed.listeners === 'object' && parsed.listeners !== null ? (parsed.listeners as Record<string, number>) : {};
  return { port: parsed.port, controllerPort: parsed.controllerPort, listeners };
}

/** Distinct free ports: all listeners stay open until every port is chosen, so none repeats. */
async function freePorts(count: number, exclude: number[]): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = net.createServer();
      servers.push(server);
      server.listen(0, HOST);
      await once(server, 'listening');
      const { port } = server.address() as net.AddressInfo;
      if (!exclude.includes(port)) ports.push(port);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
  return ports;
}

// --- readiness and failures --------------------------------------------------------------

/** One admin round trip, no retries: the caller decides how long to keep trying. */
async function probeKafka(brokers: string[], security?: KafkaSecurity): Promise<void> {
  const kafka = new Kafka({
    clientId: 'weir-local-broker-probe',
    brokers,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING, // failures are expected while starting
    ...kafkajsSecurity(security),
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * The first idempotent producer and the first consumer group after a start meet
 * COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE (producer-id block, the 50-partition
 * __consumer_offsets topic created on first use), which kafkajs logs as errors and which would
 * stall the first ingest request. Absorb that here, with quick retries and no logs: ~0.4 s per
 * start, ~1.5 s on a fresh data dir, that the first client would otherwise wait.
 */
async function warmUpCoordinators(brokers: string[], timeoutMs: number): Promise<void> {
  const retry = { retries: 40, initialRetryTime: 50, maxRetryTime: 250, multiplier: 1.2 };
  const kafka = new Kafka({ clientId: 'weir-local-broker-warm-up', brokers, retry, logLevel: logLevel.NOTHING });
  // The producer's own retry bound: an idempotent producer otherwise retries forever.
  const producer = kafka.producer({ idempotent: true, retry });
  const admin = kafka.admin();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`coordinators not available after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const warmUp = async () => {
      await producer.connect(); // InitProducerId
      await admin.connect();
      await admin.describeGroups(['weir-local-broker-warm-up']); // FindCoordinator for a group
    };
    await Promise.race([warmUp(), timedOut]);
  } finally {
    clearTimeout(timer);
    await Promise.all([producer.disconnect().catch(() => {}), admin.disconnect().catch(() => {})]);
  }
}

async function startupError(dataDir: string, reason: string): Promise<Error> {
  const f = files(dataDir);
  const parts = [`local Kafka broker in ${dataDir} ${reason}.`];
  for (const file of [f.log, f.out]) {
    const tail = lastLines((await readTextIfExists(file)) ?? '', LOG_TAIL_LINES);
    if (tail) parts.push(`--- ${file} (last lines) ---\n${tail}`);
  }
  return new Error(parts.join('\n'));
}

const lastLines = (text: string, n: number) => text.trimEnd().split('\n').slice(-n).join('\n');

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Node's codes for a certificate chain or host name it rejects (kafkajs passes the TLS error on, or wraps it as its cause). */
const TLS_VERIFY_CODES = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function isTlsVerificationError(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (TLS_VERIFY_CODES.has((e as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}

/** Runs a command to completion; fails with its output's tail, or with `missingHint` if it is not installed. */
async function runToCompletion(command: string, args: string[], missingHint: string): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(`${command} not found: ${missingHint}`, { cause: err }) : err),
    );
    child.once('close', (c, s) => resolve([c, s]));
  });
  if (code !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${lastLines(output, LOG_TAIL_LINES)}`);
  }
}

// --- pid file ----------------------------------------------------------------------------

/** The pid in dataDir's pid file, if that process is alive and is this dataDir's broker. */
async function runningBrokerPid(dataDir: string): Promise<number | undefined> {
  const text = await readTextIfExists(files(dataDir).pid);
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (!(await isAlive(pid))) return undefined;
  // After a reboot or crash the pid may belong to another program now; never signal that one.
  const cmdline = await readProcFile(pid, 'cmdline');
  if (cmdline !== undefined) {
    const args = cmdline.split('\0');
    if (!args.includes('kafka.Kafka') || !args.includes(files(dataDir).properties)) return undefined;
  }
  return pid;
}

async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A broker whose parent died is reaped by pid 1, which in a container may never do it:
  // the zombie answers signal 0 but is gone.
  const stat = await readProcFile(pid, 'stat');
  return !(stat && stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z'));
}

async function waitForPidExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await delay(100);
  }
  return true;
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // already gone is what we want
  }
}

async function withStartLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = files(dataDir).startLock;
  // Written aside and hard-linked into place: the lock appears atomically, pid included.
  const mine = `${lock}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(mine, `${process.pid}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(mine, lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
        const owner = Number((await readTextIfExists(lock))?.trim());
        if (Number.isInteger(owner) && owner > 0 && (await isAlive(owner))) {
          throw new Error(`process ${owner} is already starting the Kafka broker on ${dataDir}`);
        }
        await rm(lock, { force: true }); // left by a process that died while starting
      }
    }
  } finally {
    await rm(mine, { force: true });
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Removes the pid file only if it still names this pid: a restarted broker may own it now. */
async function removePidFile(dataDir: string, pid: number): Promise<void> {
  const file = files(dataDir).pid;
  if ((await readTextIfExists(file))?.trim() === String(pid)) await rm(file, { force: true });
}

// --- small fs helpers --------------------------------------------------------------------

async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Linux only; undefined elsewhere (or when hidden), and callers then trust the pid alone. */
async function readProcFile(pid: number, name: 'cmdline' | 'stat'): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

const exists = async (file: string) => (await readTextIfExists(file)) !== undefined;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
