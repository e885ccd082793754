/**
 * A running weir for one scenario, as `bin/weir start` processes on their own topics
 * (KAFKA_TOPIC_PREFIX), data directories and archive:
 *
 * - `all-in-one`: one process with every role, embedded ClickHouse (chDB) and a file:// archive
 *   in its DATA_DIR, as `npm start` runs it;
 * - `roles`: one process per role (ingest, archiver, speed, batch, serving) against a
 *   ClickHouse over HTTP (the test harness, in a database of the scenario's own) and an S3
 *   bucket of its own on S3Proxy, as a cluster runs it. `extra` adds a second archiver or
 *   speed process, so that a stalled member has someone to take its partitions.
 *
 * A process restarted after a fault keeps its DATA_DIR and port: an SDK's collector address
 * does not change when the collector comes back.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { S3ObjectStore } from '../../infra/object-store/s3-store';
import type { ObjectStoreEnv } from '../../infra/object-store/object-store';
import { topicNames, type Topics } from '../../schemas/topics';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';
import { cronAwayFromNow } from '../support/test-stack';

export type Topology = 'all-in-one' | 'roles';

/** What every scenario shares: the Kafka brokers, and for the roles topology the ClickHouse harness and S3Proxy. */
export interface Components {
  brokers: string[];
  clickhouseUrl?: string;
  s3?: Required<Pick<ObjectStoreEnv, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>>;
  /** Where scenarios keep their files. */
  workDir: string;
}

export interface Deployment {
  topology: Topology;
  topics: Topics;
  adminToken: string;
  /** The archive's URL and the S3 settings to read it with ({} for file://). */
  objectStoreUrl: string;
  objectStoreEnv: ObjectStoreEnv;
  /** The scenario's own directory (the all-in-one DATA_DIR, or the parent of each role's). */
  dir: string;
  /** The ClickHouse server and database of the roles topology (undefined: embedded chDB). */
  clickhouse?: { url: string; database: string };
  /** Process names: `all`, or `ingest`, `archiver`, `speed`, `batch`, `serving` (+ `archiver-2`, `speed-2`). */
  names(): string[];
  proc(name: string): WeirProcess;
  collectorUrl(): string;
  servingUrl(): string;
  /** Where the batch layer's admin routes are. */
  batchUrl(): string;
  /** SIGKILL, waiting until the process is gone. */
  kill(name: string): Promise<void>;
  /** Sends a signal and returns at once (SIGSTOP, SIGCONT). */
  signal(name: string, signal: NodeJS.Signals): void;
  /** Starts a process again (after a kill) on its DATA_DIR and port. */
  restart(name: string): Promise<void>;
  /** SIGTERM to every process; answers what did not exit with 0. */
  stop(): Promise<string[]>;
}

const ROLE_PROCESSES = ['ingest', 'archiver', 'speed', 'batch', 'serving'] as const;

export async function startDeployment(
  c: Components,
  o: {
    topology: Topology;
    brokers?: string[];
    extra?: ('archiver-2' | 'speed-2')[];
    env?: Record<string, string>;
    /** All-in-one: the embedded ClickHouse's directory lives there (a size-limited mount). */
    clickhouseDir?: string;
  },
): Promise<Deployment> {
  const id = randomBytes(4).toString('hex');
  const dir = path.join(c.workDir, `${o.topology}-${id}`);
  fs.mkdirSync(dir, { recursive: true });
  if (o.clickhouseDir) fs.symlinkSync(o.clickhouseDir, path.join(dir, 'clickhouse'));

  const prefix = `f${id}-`;
  const adminToken = `faults-${randomBytes(12).toString('hex')}`;
  const server = o.topology === 'roles' ? serverComponents(c) : undefined;
  const roles = Boolean(server);
  const bucket = `faults-${id}`;
  const objectStoreUrl = server ? `s3://${bucket}/archive` : `file://${path.join(dir, 'archive')}`;
  const objectStoreEnv: ObjectStoreEnv = server?.s3 ?? {};
  if (server) {
    const store = new S3ObjectStore({ bucket, ...server.s3 });
    await store.ensureBucket();
    store.close();
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: (o.brokers ?? c.brokers).join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_EVENTS_PARTITIONS: '4',
    ADMIN_TOKEN: adminToken,
    OBJECT_STORE_URL: objectStoreUrl,
    PORT: '0',
    LOG_LEVEL: 'info',
    // No scheduled run lands while a scenario runs; the runner asks for its run itself.
    BATCH_CRON: cronAwayFromNow(),
    // The traffic is one key's; its refusals must be the fault's (503), not the rate limit's.
    RATE_LIMIT_REQUESTS_PER_S: '100000',
    RATE_LIMIT_EVENTS_PER_S: '100000000',
    MAX_REPORT_ROWS: '1000000',
    ...(server
      ? {
          CLICKHOUSE_URL: server.clickhouseUrl,
          CLICKHOUSE_DATABASE: `weir_f${id}`,
          S3_ENDPOINT: server.s3.endpoint,
          AWS_ACCESS_KEY_ID: server.s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: server.s3.secretAccessKey,
          AWS_REGION: 'us-east-1',
        }
      : {}),
    ...o.env,
  };
  if (!roles) delete env.CLICKHOUSE_URL;

  const names = roles ? [...ROLE_PROCESSES, ...(o.extra ?? [])] : ['all'];
  const procs = new Map<string, WeirProcess>();
  const launch = async (name: string, port = '0') => {
    const args = name === 'all' ? [] : ['--role', name.replace(/-2$/, '')];
    const dataDir = name === 'all' ? dir : path.join(dir, `role-${name}`);
    procs.set(name, await startWeirProcess(args, { ...env, DATA_DIR: dataDir, PORT: port }, 180_000));
  };
  const proc = (name: string) => {
    const p = procs.get(name);
    if (!p) throw new Error(`no process ${name} in this deployment`);
    return p;
  };
  const stopAll = async (signal: NodeJS.Signals) => {
    const codes = await Promise.all([...procs].map(async ([name, p]) => [name, await stopWithin(p, signal, 60_000), p] as const));
    return codes.flatMap(([name, code, p]) => (code === 0 ? [] : [`${name} exited with ${code ?? 'SIGKILL'}: ${p.stderr().slice(-500)}`]));
  };

  try {
    // Ingest first: with a ClickHouse server the first process runs the migrations under a lease.
    await launch(names[0]);
    const rest = await Promise.allSettled(names.slice(1).map((n) => launch(n)));
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await stopAll('SIGKILL');
    throw err;
  }

  const urlOf = (name: string) => proc(roles ? name : 'all').url;
  return {
    topology: o.topology,
    topics: topicNames(prefix),
    adminToken,
    objectStoreUrl,
    objectStoreEnv,
    dir,
    clickhouse: server && { url: server.clickhouseUrl, database: `weir_f${id}` },
    names: () => [...procs.keys()],
    proc,
    collectorUrl: () => urlOf('ingest'),
    servingUrl: () => urlOf('serving'),
    batchUrl: () => urlOf('batch'),
    kill: async (name) => {
      await proc(name).stop('SIGKILL');
    },
    signal: (name, signal) => void proc(name).child.kill(signal),
    restart: async (name) => launch(name, new URL(proc(name).url).port),
    stop: () => stopAll('SIGTERM'),
  };
}

/** A stopped (SIGSTOP) process is continued first; one that does not exit in time is killed. */
async function stopWithin(p: WeirProcess, signal: NodeJS.Signals, ms: number): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill('SIGCONT');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  try {
    const code = await Promise.race([p.stop(signal), late]);
    return code === 'late' ? p.stop('SIGKILL') : code;
  } finally {
    clearTimeout(timer);
  }
}

function serverComponents(c: Components): Required<Pick<Components, 'clickhouseUrl' | 's3'>> {
  if (!c.clickhouseUrl || !c.s3) throw new Error('the roles topology needs the ClickHouse harness and S3Proxy, which this run did not start');
  return { clickhouseUrl: c.clickhouseUrl, s3: c.s3 };
}
