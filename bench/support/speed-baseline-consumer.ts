/**
 * The speed bench's two consumers without the speed layer, both in a fresh group with the
 * speed layer's fetch settings, reading the preloaded topic to its end:
 * - the baseline: a bare kafkajs consumer that does no work;
 * - the floor (`floorDataDir` set): what every speed layer of this design does before any of
 *   its own work. It decodes every message (decodeStoredEvent, as the speed layer must, to
 *   deduplicate and attribute in JS) and writes every event with its partition and offset to
 *   `events_rt` as the speed layer does (its message with them appended, one JSONEachRow file
 *   per fetch, read with file()), so that a resume position could be read back. No deduplication, attribution, derived
 *   dimensions from state, views or Kafka sends.
 * Done when it has seen (the floor: written) `expected` messages, counted in the child.
 *
 * Protocol: init → ready, go → done { messages, ms }, stop (exit).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Batch, Consumer } from 'kafkajs';
import { createClickHouse, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { createKafka } from '../../infra/kafka/local-broker';
import { decodeStoredEvent } from '../../schemas/decode-stored-event';
import { EventsRtRows, insertEventsRt } from '../../speed-layer/events-rt-rows';
import { SPEED_FETCH } from '../../speed-layer/main';
import { deriveDimensions } from '../../speed-layer/realtime-views/derive-dimensions';
import { serveCommands } from './child';

interface Init {
  type: 'init';
  brokers: string[];
  topic: string;
  groupId: string;
  expected: number;
  /** The floor's embedded ClickHouse; unset for the bare baseline. */
  floorDataDir?: string;
}

let init: Init;
let ch: ClickHouseHandle | undefined;
let consumer: Consumer | undefined;

async function stop(code: number): Promise<never> {
  await consumer?.disconnect().catch(() => undefined);
  await ch?.close().catch(() => undefined);
  process.exit(code);
}

/** The floor's work on a batch: decode, then write with the batches of the same fetch as one insert. */
function floorWriter(handle: ClickHouseHandle, staging: string): (batch: Batch) => Promise<number> {
  let pending: { rows: EventsRtRows; resolve: () => void; reject: (err: unknown) => void }[] = [];
  const flush = async () => {
    const group = pending;
    pending = [];
    try {
      await insertEventsRt(handle.client, EventsRtRows.concat(group.map((g) => g.rows)), '', staging);
      for (const g of group) g.resolve();
    } catch (err) {
      for (const g of group) g.reject(err);
    }
  };
  return async (batch) => {
    const rows = new EventsRtRows();
    for (const msg of batch.messages) {
      const e = decodeStoredEvent(msg.value);
      if (typeof e !== 'string') rows.add(msg.value as Buffer, e, deriveDimensions(e, undefined, undefined), batch.partition, Number(msg.offset));
    }
    await new Promise<void>((resolve, reject) => {
      if (pending.push({ rows, resolve, reject }) === 1) setImmediate(() => void flush());
    });
    return rows.count;
  };
}

serveCommands(async (m) => {
  if (m.type === 'init') {
    init = m as Init;
    if (init.floorDataDir) {
      ch = createClickHouse({ clickhouse: { url: undefined, database: 'default' }, dataDir: init.floorDataDir });
      await migrate(ch.client);
      await mkdir(path.join(init.floorDataDir, 'staging'), { recursive: true });
    }
    process.send?.({ type: 'ready' });
  } else if (m.type === 'go') {
    const work = ch && init.floorDataDir ? floorWriter(ch, path.join(init.floorDataDir, 'staging')) : async (batch: Batch) => batch.messages.length;
    const t0 = performance.now();
    // The speed layer's fetch settings, so the difference is the work.
    consumer = createKafka(init.brokers, 'weir-bench-baseline').consumer({ groupId: init.groupId, ...SPEED_FETCH });
    await consumer.connect();
    await consumer.subscribe({ topic: init.topic, fromBeginning: true });
    let seen = 0;
    let reported = false;
    await consumer.run({
      partitionsConsumedConcurrently: 64,
      eachBatch: async ({ batch }) => {
        // Not `seen += await …`: that reads `seen` before the await, and batches run concurrently.
        const counted = await work(batch);
        seen += counted;
        if (!reported && seen >= init.expected) {
          reported = true;
          process.send?.({ type: 'done', messages: seen, ms: performance.now() - t0 });
        }
      },
    });
  } else if (m.type === 'stop') {
    await stop(0);
  }
}, stop);
