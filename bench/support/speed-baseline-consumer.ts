/**
 * The baseline of the speed bench: a bare kafkajs consumer in a fresh group that does no
 * work, with the speed layer's fetch settings, reading the preloaded topic to its end.
 * Done when it has seen `expected` messages (counted in the child, no polling).
 *
 * Protocol: init → ready, go → done { messages, ms }, stop (exit).
 */
import type { Consumer } from 'kafkajs';
import { createKafka } from '../../infra/kafka/local-broker';
import { reportFatal } from './child';

interface Init {
  type: 'init';
  brokers: string[];
  topic: string;
  groupId: string;
  expected: number;
}

let init: Init;
let consumer: Consumer | undefined;

async function stop(code: number): Promise<never> {
  await consumer?.disconnect().catch(() => undefined);
  process.exit(code);
}

process.on('message', (m: { type: string }) => {
  void (async () => {
    if (m.type === 'init') {
      init = m as Init;
      process.send?.({ type: 'ready' });
    } else if (m.type === 'go') {
      const t0 = performance.now();
      // The same fetch settings as startSpeedLayer, so the difference is the work.
      consumer = createKafka(init.brokers, 'weir-bench-baseline').consumer({
        groupId: init.groupId,
        maxWaitTimeInMs: 100,
        maxBytesPerPartition: 4 * 1024 * 1024,
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
      });
      await consumer.connect();
      await consumer.subscribe({ topic: init.topic, fromBeginning: true });
      let seen = 0;
      let reported = false;
      await consumer.run({
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
          if (!reported && seen >= init.expected) {
            reported = true;
            process.send?.({ type: 'done', messages: seen, ms: performance.now() - t0 });
          }
        },
      });
    } else if (m.type === 'stop') {
      await stop(0);
    }
  })().catch(reportFatal);
});
process.once('disconnect', () => void stop(1));
process.once('SIGTERM', () => void stop(0));
