/**
 * The baseline: a bare kafkajs producer (idempotent unless told otherwise, one request in
 * flight, acks=-1), sending the stored-event JSON of the same events in sends of
 * `batchSize` messages, one send at a time (FIELD-NOTES: more sends in flight do not help
 * one Node process). Records are read from a file of `key<TAB>value` lines before timing.
 *
 * Protocol: init → ready, warmup → warmed, go → done (see bench/ingest.ts).
 */
import { readFileSync } from 'node:fs';
import type { Message, Producer } from 'kafkajs';
import { createKafka } from '../../infra/kafka/local-broker';
import { reportFatal, splitLines } from './child';

export interface BaselineInit {
  type: 'init';
  brokers: string[];
  topic: string;
  storedFile: string;
  batchSize: number;
  warmupMessages: number;
  idempotent: boolean;
}

let init: BaselineInit;
let producer: Producer;
let records: { key: string; value: string }[] = [];

async function sendRange(from: number, to: number): Promise<number> {
  const started = performance.now();
  for (let i = from; i < to; i += init.batchSize) {
    const timestamp = String(Date.now());
    const messages: Message[] = [];
    for (let j = i; j < Math.min(to, i + init.batchSize); j++) messages.push({ key: records[j].key, value: records[j].value, timestamp });
    await producer.send({ topic: init.topic, messages, acks: -1 });
  }
  return performance.now() - started;
}

process.on('message', (m: { type: string }) => {
  void (async () => {
    if (m.type === 'init') {
      init = m as BaselineInit;
      records = splitLines(readFileSync(init.storedFile)).map((line) => {
        const tab = line.indexOf(9);
        return { key: line.subarray(0, tab).toString('utf8'), value: line.subarray(tab + 1).toString('utf8') };
      });
      producer = createKafka(init.brokers, 'weir-bench-baseline').producer({ idempotent: init.idempotent, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      process.send?.({ type: 'ready', messages: records.length });
    } else if (m.type === 'warmup') {
      const n = Math.min(init.warmupMessages, records.length);
      process.send?.({ type: 'warmed', messages: n, ms: await sendRange(0, n) });
    } else if (m.type === 'go') {
      process.send?.({ type: 'done', messages: records.length, ms: await sendRange(0, records.length) });
    } else if (m.type === 'stop') {
      await producer?.disconnect();
      process.exit(0);
    }
  })().catch(reportFatal);
});
process.once('disconnect', () => process.exit(1));
