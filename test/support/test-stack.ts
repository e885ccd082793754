/**
 * Starts weir in the test process against the test broker, with its own topics (prefix),
 * data directory (chDB, archive) and admin token, so test files sharing the broker stay apart.
 *
 * The server path (`npm run test:server`, test/support/clickhouse-harness-process.ts): every
 * role runs in a process of its own against the ClickHouse HTTP harness, in a database of the
 * test's own, and they start together, as an operator's roles do.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, type Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { ROLES, startWeir, type Role, type Running } from '../../cli/start';
import type { Run } from '../../batch-layer/run-types';
import type { ArchivedEvent, StoredEvent } from '../../schemas/event';
import { testBrokers } from '../setup/test-broker';
import { createClickHouse } from '../../infra/clickhouse/client';
import { harnessUrl, testClickHouse } from './clickhouse-harness-process';
import { startRouteProxy } from './route-proxy';
import { startWeirProcess } from './weir-process';
import { makeScratchDir, removeScratchDir } from './scratch-dir';
import { waitFor } from './wait-for';

export interface TestStack {
  cfg: Config;
  running: Running;
  url: string;
  adminToken: string;
  dataDir: string;
  prefix: string;
  stop(): Promise<void>;
}

export function testEnv(extra: Record<string, string> = {}): { env: NodeJS.ProcessEnv; dataDir: string; prefix: string } {
  const id = randomBytes(4).toString('hex');
  const dataDir = makeScratchDir(`weir-stack-${id}`);
  const prefix = `t${id}-`;
  const env = {
    ...process.env,
    KAFKA_BROKERS: testBrokers().join(','),
    DATA_DIR: dataDir,
    PORT: '0',
    KAFKA_TOPIC_PREFIX: prefix,
    ADMIN_TOKEN: `admin-${randomBytes(12).toString('hex')}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...clickhouseEnv(testClickHouse(id)),
    ...extra,
  };
  return { env, dataDir, prefix };
}

export async function startTestStack(opts: { role?: Role | Role[]; env?: Record<string, string> } = {}): Promise<TestStack> {
  const { env, dataDir, prefix } = testEnv(opts.env);
  const cfg = loadConfig(env);
  const running = harnessUrl() ? await startRoleProcesses(opts.role, env, cfg, dataDir) : await startWeir(cfg, { role: opts.role, demo: false }, createLogger(cfg.logLevel));
  return {
    cfg,
    running,
    url: running.url,
    adminToken: running.adminToken,
    dataDir,
    prefix,
    stop: async () => {
      await running.stop();
      removeScratchDir(dataDir);
    },
  };
}

/**
 * Each role in its own process (its own DATA_DIR; the archive shared through the object store
 * URL), behind one address (route-proxy.ts). The test process gets a client of its own.
 */
async function startRoleProcesses(role: Role | Role[] | undefined, env: NodeJS.ProcessEnv, cfg: Config, dataDir: string): Promise<Running> {
  const roles = role ? [...new Set([role].flat())] : [...ROLES];
  const shared = { ...env, OBJECT_STORE_URL: cfg.objectStore.url };
  const started = await Promise.allSettled(roles.map((r) => startWeirProcess(['--role', r], { ...shared, DATA_DIR: `${dataDir}/role-${r}` })));
  const procs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    throw failed.reason;
  }
  const proxy = await startRouteProxy(procs.map((p) => p.url));
  const ch = createClickHouse(cfg);
  return {
    url: proxy.url,
    adminUrl: proxy.url,
    adminToken: cfg.adminToken as string,
    clickhouse: ch.client,
    stop: async () => {
      await proxy.stop();
      const codes = await Promise.all(procs.map((p) => p.stop('SIGTERM')));
      await ch.close();
      const bad = codes.flatMap((c, i) => (c === 0 ? [] : [`${roles[i]} exited with ${c}: ${procs[i].stderr()}`]));
      if (bad.length) throw new Error(bad.join('\n'));
    },
  };
}

const clickhouseEnv = (ch: { url: string; database: string } | undefined): Record<string, string> => (ch ? { CLICKHOUSE_URL: ch.url, CLICKHOUSE_DATABASE: ch.database } : {});

/** A daily BATCH_CRON 12 hours away: no scheduled run covers a day while a test runs. */
export function cronAwayFromNow(): string {
  const at = new Date(Date.now() + 12 * 3_600_000);
  return `${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

export async function createTestApp(stack: Pick<TestStack, 'url' | 'adminToken'>, body: Record<string, unknown>): Promise<{ app_id: string; write_key: string; read_key: string }> {
  const res = await fetch(`${stack.url}/v1/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`creating app failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { app_id: string; write_key: string; read_key: string };
}

/** An admin API call. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON answers
export async function adminRequest(stack: Pick<TestStack, 'url' | 'adminToken'>, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Requests a batch run of `day` on the admin API and waits until it has finished (succeeded or failed). */
export async function runBatchDay(stack: Pick<TestStack, 'url' | 'adminToken'>, day: string, timeoutMs = 120_000): Promise<Run> {
  const requested = await adminRequest(stack, 'POST', '/v1/admin/batch/runs', { day });
  if (requested.status !== 202) throw new Error(`batch run of ${day} refused: ${requested.status} ${JSON.stringify(requested.json)}`);
  const id = (requested.json.run as Run).id;
  return waitFor(async () => {
    const r = await adminRequest(stack, 'GET', `/v1/admin/batch/runs/${id}`);
    return ['succeeded', 'failed'].includes(r.json.status) ? (r.json as Run) : undefined;
  }, { timeoutMs, intervalMs: 250, what: `batch run of ${day}` });
}

export interface TopicMessage {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

/** The events topic as the archive holds it: every stored event with its Kafka position. */
export async function topicEvents(topic: string, brokers = testBrokers()): Promise<ArchivedEvent[]> {
  return (await readTopic(topic, brokers)).map((m) => ({ ...(JSON.parse(m.value) as StoredEvent), kafka_partition: m.partition, kafka_offset: m.offset }));
}

/** Every message of a topic, read from the beginning up to its current end. */
export async function readTopic(topic: string, brokers = testBrokers()): Promise<TopicMessage[]> {
  const kafka = new Kafka({ clientId: 'test-reader', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  const out: TopicMessage[] = [];
  if ([...remaining.values()].every((h) => h === 0)) return out;
  const consumer = kafka.consumer({ groupId: `reader-${randomBytes(6).toString('hex')}`, maxBytes: 64 << 20, maxBytesPerPartition: 16 << 20 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const seen = new Map<number, number>();
    const done = () => [...remaining.entries()].every(([p, high]) => high === 0 || (seen.get(p) ?? -1) >= high - 1);
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            out.push({ partition: batch.partition, offset: Number(m.offset), key: m.key?.toString() ?? '', value: m.value?.toString() ?? '' });
          }
          seen.set(batch.partition, Number(batch.lastOffset()));
          if (done()) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out;
}
