/**
 * Kafka's own Java producer as the reference: `org.apache.kafka.tools.ProducerPerformance`
 * (the class behind `kafka-producer-perf-test`), from kafka-tools beside the broker's jars,
 * sending the same stored-event JSON values with acks=all and idempotence, keyed (random
 * integer keys over `keyRange`, so records spread over partitions by key hash as the
 * collector's do, rather than the sticky partitioner's batches of null-keyed records).
 * `warmupRecords` are sent first and left out of the figure (JIT, connections).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensureKafkaJars, ensureKafkaToolsJar } from '../../infra/kafka/local-broker';

export interface JavaProducerResult {
  eventsPerS: number;
  records: number;
  /** The tool's own average latency of a record until acknowledged. */
  avgLatencyMs: number;
}

export async function runJavaProducer(o: {
  cacheDir: string;
  brokers: string[];
  topic: string;
  payloadFile: string;
  records: number;
  warmupRecords: number;
  keyRange: number;
}): Promise<JavaProducerResult> {
  const libs = await ensureKafkaJars({ cacheDir: o.cacheDir });
  const toolsJar = await ensureKafkaToolsJar({ cacheDir: o.cacheDir });
  const args = [
    '-Xmx768m',
    '-cp',
    `${path.join(libs, '*')}${path.delimiter}${toolsJar}`,
    'org.apache.kafka.tools.ProducerPerformance',
    '--bootstrap-server', o.brokers.join(','),
    '--topic', o.topic,
    '--num-records', String(o.records + o.warmupRecords),
    '--warmup-records', String(o.warmupRecords),
    '--throughput', '-1',
    '--payload-file', o.payloadFile,
    '--key-distribution', 'random',
    '--record-key-range', String(o.keyRange),
    '--reporting-interval', '600000',
    '--command-property', 'acks=all', 'enable.idempotence=true',
  ];
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`ProducerPerformance exited with ${code}:\n${out.slice(-3000)}`);
  // With --warmup-records the tool prints a second summary for the steady state; take the last.
  const summaries = [...out.matchAll(/(\d+) records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), ([\d.]+) ms avg latency/g)];
  const last = summaries.at(-1);
  if (!last) throw new Error(`no summary in ProducerPerformance's output:\n${out.slice(-3000)}`);
  return { records: Number(last[1]), eventsPerS: Number(last[2]), avgLatencyMs: Number(last[3]) };
}
