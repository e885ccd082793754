/**
 * Starts weir in the test process against the test broker, with its own topics (prefix),
 * data directory (chDB, archive) and admin token, so test files sharing the broker stay apart.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, type Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { startWeir, type Role, type Running } from '../../cli/start';
import { testBrokers } from '../setup/test-broker';
import { makeScratchDir, removeScratchDir } from './scratch-dir';

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
    ...extra,
  };
  return { env, dataDir, prefix };
}

export async function startTestStack(opts: { role?: Role | Role[]; env?: Record<string, string> } = {}): Promise<TestStack> {
  const { env, dataDir, prefix } = testEnv(opts.env);
  const cfg = loadConfig(env);
  const running = await startWeir(cfg, { role: opts.role, demo: false }, createLogger(cfg.logLevel));
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

export async function createTestApp(stack: Pick<TestStack, 'url' | 'adminToken'>, body: Record<string, unknown>): Promise<{ app_id: string; write_key: string; read_key: string }> {
  const res = await fetch(`${stack.url}/v1/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`creating app failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { app_id: string; write_key: string; read_key: string };
}

export interface TopicMessage {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

/** Every message of a topic, read from the beginning up to its current end. */
export async function readTopic(topic: string): Promise<TopicMessage[]> {
  const kafka = new Kafka({ clientId: 'test-reader', brokers: testBrokers(), logLevel: logLevel.NOTHING });
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
