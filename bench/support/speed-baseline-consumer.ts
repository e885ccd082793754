/**
 * The speed bench's consumers without the speed layer, each in a fresh group with the speed
 * layer's fetch settings, reading the preloaded topic to its end:
 * - the baseline (`mode: 'bare'`): a bare kafkajs consumer that does no work;
 * - the floor (`mode: 'floor'`): what every speed layer of this design does before any of
 *   its own work. It decodes every message (decodeStoredEvent, as the speed layer must, to
 *   deduplicate and attribute in JS) and writes every event with its partition and offset to
 *   `events_rt` as the speed layer does (its message with them appended, one JSONEachRow file
 *   per fetch, read with file()), so that a resume position could be read back. No
 *   deduplication, attribution, derived dimensions from state, views or Kafka sends;
 * - the raw floor (`mode: 'raw'`): what any speed layer consuming with kafkajs and computing
 *   at least the Kappa peer's view does, whatever its design: no JS decode, the messages as
 *   they are into the engine, which parses them and computes the peer's hourly view.
 * Done when it has seen (the floor: written) `expected` messages, counted in the child.
 *
 * Protocol: init → ready, go → done { messages, ms }, stop (exit).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Batch, Consumer } from 'kafkajs';
import { createClickHouse, type ClickHouseClient, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { createKafka } from '../../infra/kafka/local-broker';
import { decodeStoredEvent } from '../../schemas/decode-stored-event';
import { EventsRtRows, insertEventsRt } from '../../speed-layer/events-rt-rows';
import { SPEED_FETCH } from '../../speed-layer/main';
import { deriveDimensions } from '../../speed-layer/realtime-views/derive-dimensions';
import { reportFatal, serveCommands } from './child';
import { PEER_COLUMNS, PEER_HOURLY_SELECT, PEER_HOURLY_TARGET } from './speed-peer-view';

interface Init {
  type: 'init';
  brokers: string[];
  topic: string;
  groupId: string;
  expected: number;
  /** What is done with each batch (see the top of this file). */
  mode: 'bare' | 'floor' | 'raw';
  /** The floor's or raw floor's embedded ClickHouse. */
  dataDir?: string;
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

/**
 * The raw floor: no JS decode at all; the message bytes of the fetches, one per line, handed
 * to the engine as one file, parsed there into a Null table whose view is the Kappa peer's
 * hourly view. What any kafkajs speed layer computing at least the peer's view must do.
 * Pipelined, as a floor may be: a batch is let go once queued, so the consumer fetches while
 * the engine writes (up to RAW_IN_FLIGHT writes at once, then fetching waits).
 */
const RAW_IN_FLIGHT = 2;
function rawWriter(handle: ClickHouseHandle, staging: string, written: (n: number) => void): (batch: Batch) => Promise<void> {
  const NL = Buffer.from('\n');
  let pending: Buffer[] = [];
  let inFlight = 0;
  const freed: (() => void)[] = [];
  // One connection each, and no query parameters (chDB runs parameterised statements one at a
  // time): the file name is ours, a uuid, and the structure a constant.
  const clients = handle.concurrent(RAW_IN_FLIGHT);
  const write = async (parts: Buffer[]) => {
    const file = path.join(staging, `raw-${randomUUID()}.json`);
    const client = clients.pop() as ClickHouseClient;
    try {
      await writeFile(file, Buffer.concat(parts));
      await client.command({ query: `INSERT INTO raw_incoming SELECT * FROM file('${file}', JSONEachRow, '${PEER_COLUMNS}') SETTINGS input_format_skip_unknown_fields = 1` });
    } finally {
      clients.push(client);
      await rm(file, { force: true });
    }
  };
  const pump = () => {
    while (inFlight < RAW_IN_FLIGHT && pending.length > 0) {
      const parts = pending;
      pending = [];
      inFlight++;
      write(parts)
        .then(() => written(parts.length / 2))
        .catch(reportFatal)
        .finally(() => {
          inFlight--;
          pump();
          // Every batch waiting goes on (each has queued its messages already).
          if (inFlight < RAW_IN_FLIGHT) for (const go of freed.splice(0)) go();
        });
    }
  };
  return async (batch) => {
    for (const m of batch.messages) if (m.value) pending.push(m.value, NL);
    // One turn of the event loop lets the partitions of the same fetch join the write.
    setImmediate(pump);
    if (inFlight >= RAW_IN_FLIGHT) await new Promise<void>((r) => freed.push(r));
  };
}

async function prepareRaw(handle: ClickHouseHandle): Promise<void> {
  await handle.client.command({ query: PEER_HOURLY_TARGET });
  await handle.client.command({ query: `CREATE TABLE raw_incoming (${PEER_COLUMNS}) ENGINE = Null` });
  await handle.client.command({ query: `CREATE MATERIALIZED VIEW raw_hourly_mv TO peer_hourly AS ${PEER_HOURLY_SELECT('raw_incoming')}` });
}

serveCommands(async (m) => {
  if (m.type === 'init') {
    init = m as Init;
    if (init.mode !== 'bare') {
      if (!init.dataDir) throw new Error(`the ${init.mode} consumer needs a data directory`);
      ch = createClickHouse({ clickhouse: { url: undefined, database: 'default' }, dataDir: init.dataDir });
      if (init.mode === 'floor') await migrate(ch.client);
      else await prepareRaw(ch);
      await mkdir(path.join(init.dataDir, 'staging'), { recursive: true });
    }
    process.send?.({ type: 'ready' });
  } else if (m.type === 'go') {
    const staging = path.join(init.dataDir ?? '', 'staging');
    let t0 = 0;
    let seen = 0;
    let reported = false;
    const written = (n: number) => {
      seen += n;
      if (!reported && seen >= init.expected) {
        reported = true;
        process.send?.({ type: 'done', messages: seen, ms: performance.now() - t0 });
      }
    };
    const floor = ch && init.mode === 'floor' ? floorWriter(ch, staging) : undefined;
    const raw = ch && init.mode === 'raw' ? rawWriter(ch, staging, written) : undefined;
    t0 = performance.now();
    // The speed layer's fetch settings, so the difference is the work.
    consumer = createKafka(init.brokers, 'weir-bench-baseline').consumer({ groupId: init.groupId, ...SPEED_FETCH });
    await consumer.connect();
    await consumer.subscribe({ topic: init.topic, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 64,
      eachBatch: async ({ batch }) => {
        if (raw) return raw(batch);
        // Not `seen += await …`: that reads `seen` before the await, and batches run concurrently.
        written(floor ? await floor(batch) : batch.messages.length);
      },
    });
  } else if (m.type === 'stop') {
    await stop(0);
  }
}, stop);
