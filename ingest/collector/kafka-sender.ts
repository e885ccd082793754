/**
 * Gathers the records of concurrent requests into few large producer sends.
 *
 * A producer spends much of its time per send, not per record (FIELD-NOTES: kafkajs's
 * 100-record sends reach ~50k msg/s, 1000-record sends ~80k), so requests arriving while a
 * send is in flight wait for the next one and share it. Each producer keeps one send in
 * flight, so a partition's records keep their order (and an idempotent producer's sequence
 * numbers stay gapless). A request's promise resolves only once the broker acknowledged every
 * record of its send (acks=all), and rejects when the send fails; the HTTP client retries
 * (the same event_ids: duplicates are resolved downstream).
 *
 * The producers are @platformatic/kafka's, idempotent (infra/kafka/platformatic-producer.ts).
 * kafkajs 2.2.4's idempotent producer was not an option: sends acknowledged while a restarted
 * broker was coming up were missing from the log afterwards (our outage test lost 49–102
 * acknowledged events per run), so the collector ran it without idempotence.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { LogProducer, LogRecord } from '../../infra/kafka/log-producer';
import type { Topics } from '../../schemas/topics';

/** Well under TOPIC_MAX_MESSAGE_BYTES (infra/kafka/local-broker.ts) even if one partition gets it all. */
const MAX_BYTES_PER_SEND = 8 * 1024 * 1024;

interface Pending {
  events: LogRecord[];
  dlq: LogRecord[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface KafkaSender {
  send(events: LogRecord[], dlq: LogRecord[]): Promise<void>;
  stop(): Promise<void>;
}

export function startKafkaSender(
  createProducer: () => LogProducer,
  opts: { topics: Topics; producers?: number; maxMessagesPerSend?: number; registry?: Registry },
): KafkaSender {
  const maxPerSend = opts.maxMessagesPerSend ?? 5000;
  // Four sends in flight rather than two: fewer requests wait idle for an acknowledgement.
  // Against two, 94k/84k, 46k/27k and 72k/66k events/s in three alternating pairs of
  // `npm run bench -- ingest` runs on a shared machine, at about the same CPU per event (the
  // collector got more of the contended CPU); a weak effect next to that machine's noise.
  const producers = Array.from({ length: opts.producers ?? 4 }, createProducer);
  const idle = [...producers];
  const queue: Pending[] = [];
  let stopped = false;
  const inFlight = new Set<Promise<void>>();

  const sendSize = opts.registry &&
    new Histogram({ name: 'weir_ingest_kafka_send_messages', help: 'Messages per producer send', buckets: [1, 10, 100, 500, 1000, 2000, 5000], registers: [opts.registry] });
  const sendSeconds = opts.registry &&
    new Histogram({ name: 'weir_ingest_kafka_send_seconds', help: 'Producer send latency until acks=all', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 15], registers: [opts.registry] });
  const sendErrors = opts.registry &&
    new Counter({ name: 'weir_ingest_kafka_send_errors_total', help: 'Failed producer sends', registers: [opts.registry] });

  function pump(): void {
    while (idle.length && queue.length) {
      const producer = idle.pop() as LogProducer;
      const batch: Pending[] = [];
      let n = 0;
      let bytes = 0;
      // Bounded by count and by bytes: the broker refuses a record batch over the topic's
      // max.message.bytes, and a refused send would fail every request in it, on every retry.
      while (queue.length && (n === 0 || (n + queue[0].events.length + queue[0].dlq.length <= maxPerSend && bytes + queue[0].bytes <= MAX_BYTES_PER_SEND))) {
        const p = queue.shift() as Pending;
        n += p.events.length + p.dlq.length;
        bytes += p.bytes;
        batch.push(p);
      }
      const run = sendOnce(producer, batch, n).finally(() => {
        inFlight.delete(run);
        idle.push(producer);
        pump();
      });
      inFlight.add(run);
    }
  }

  async function sendOnce(producer: LogProducer, batch: Pending[], n: number): Promise<void> {
    const events = batch.flatMap((p) => p.events);
    const dlq = batch.flatMap((p) => p.dlq);
    const end = sendSeconds?.startTimer();
    try {
      await producer.send([
        { topic: opts.topics.events, records: events },
        { topic: opts.topics.dlq, records: dlq },
      ]);
      end?.();
      sendSize?.observe(n);
      for (const p of batch) p.resolve();
    } catch (err) {
      sendErrors?.inc();
      for (const p of batch) p.reject(err as Error);
    }
  }

  let stopping: Promise<void> | undefined;
  return {
    send(events, dlq) {
      if (stopped) return Promise.reject(new Error('kafka sender is stopped'));
      if (events.length === 0 && dlq.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ events, dlq, bytes: messageBytes(events) + messageBytes(dlq), resolve, reject });
        // Let requests that arrive in the same tick join this send.
        setImmediate(pump);
      });
    },
    stop() {
      return (stopping ??= (async () => {
        stopped = true;
        while (queue.length || inFlight.size) {
          pump();
          await Promise.allSettled([...inFlight]);
        }
        await Promise.allSettled(producers.map((p) => p.close()));
      })());
    },
  };
}

function messageBytes(records: LogRecord[]): number {
  let n = 0;
  for (const r of records) n += r.value.length * 3;
  return n;
}
