/**
 * A baseline: a bare producer sending the stored-event JSON of the same events in sends of
 * `batchSize` messages, one send at a time (FIELD-NOTES: more sends in flight do not help
 * one Node process), acks=all. `client` picks kafkajs (idempotent unless told otherwise,
 * one request in flight, the old collector's client) or @platformatic/kafka through the
 * collector's own LogProducer (idempotent, kafkajs's partitioning: a few lines over the bare
 * client). Records are read from a file of `key<TAB>value` lines before timing.
 *
 * Protocol: init → ready, warmup → warmed, go → done (see bench/ingest.ts).
 */
import { readFileSync } from 'node:fs';
import type { Message } from 'kafkajs';
import type { LogProducer } from '../../infra/kafka/log-producer';
import { createKafka } from '../../infra/kafka/local-broker';
import { createPlatformaticProducer } from '../../infra/kafka/platformatic-producer';
import { reportFatal, splitLines } from './child';

export type BaselineClient = 'kafkajs' | 'platformatic';

export interface BaselineInit {
  type: 'init';
  brokers: string[];
  topic: string;
  storedFile: string;
  batchSize: number;
  warmupMessages: number;
  client: BaselineClient;
  /** kafkajs only; @platformatic/kafka's producer here is idempotent, like the collector's. */
  idempotent: boolean;
}

let init: BaselineInit;
let producer: LogProducer;
let records: { key: string; value: string }[] = [];

/** kafkajs's producer as a LogProducer: one `send` of the batch's messages (the one topic). */
async function kafkajsProducer(): Promise<LogProducer> {
  const p = createKafka(init.brokers, 'weir-bench-baseline').producer({ idempotent: init.idempotent, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await p.connect();
  return {
    async send([{ topic, records: batch }]) {
      const messages: Message[] = batch.map((r) => ({ key: r.key, value: r.value, timestamp: String(r.timestamp) }));
      await p.send({ topic, messages, acks: -1 });
    },
    close: () => p.disconnect(),
  };
}

async function sendRange(from: number, to: number): Promise<number> {
  const started = performance.now();
  for (let i = from; i < to; i += init.batchSize) {
    const timestamp = Date.now();
    const batch = [];
    for (let j = i; j < Math.min(to, i + init.batchSize); j++) batch.push({ key: records[j].key, value: records[j].value, timestamp });
    await producer.send([{ topic: init.topic, records: batch }]);
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
      producer = init.client === 'kafkajs' ? await kafkajsProducer() : createPlatformaticProducer({ brokers: init.brokers, clientId: 'weir-bench-baseline' });
      process.send?.({ type: 'ready', messages: records.length });
    } else if (m.type === 'warmup') {
      const n = Math.min(init.warmupMessages, records.length);
      process.send?.({ type: 'warmed', messages: n, ms: await sendRange(0, n) });
    } else if (m.type === 'go') {
      process.send?.({ type: 'done', messages: records.length, ms: await sendRange(0, records.length) });
    } else if (m.type === 'stop') {
      await producer?.close();
      process.exit(0);
    }
  })().catch(reportFatal);
});
process.once('disconnect', () => process.exit(1));
