/**
 * The speed bench's consumers without the speed layer, each in a fresh group with the speed
 * layer's fetch settings, reading the preloaded topic to its end:
 * - the baseline (`mode: 'bare'`): a bare kafkajs consumer that does no work;
 * - the floor (`mode: 'floor'`): what every speed layer of this design does before any of
 *   its own work. It decodes every message (decodeStoredEvent, as the speed layer does, to
 *   deduplicate) and stages every event with its partition and offset in `speed_staged` as
 *   the speed layer does (its message with them appended, one JSONEachRow file per fetch,
 *   read with file()). No deduplication, decisions, state, views or Kafka sends;
 * - the raw floor (`mode: 'raw'`): what any speed layer consuming with kafkajs and computing
 *   at least the Kappa peer's view does, whatever its design: no JS decode, the messages as
 *   they are into the engine, which parses them and computes the peer's hourly view;
 * - the views floor (`mode: 'views'`): what any speed layer consuming with kafkajs and keeping
 *   the speed views this project serves does, whatever its design: the raw floor's work, but
 *   with each message's partition and offset appended (as any resume position needs) and the
 *   speed layer's own four views (hourly_rt, realtime_rt, clicks_by_ip_ua_rt, errors_rt, with
 *   their SQL, realtime-views/views-writer.ts) as materialized views of that one insert. No
 *   JS decode, deduplication, attribution, sends or stored rows to resume from.
 * Done when it has seen (the floor: written) `expected` messages, counted in the child.
 *
 * Protocol: init → ready, go → done { messages, ms }, stop (exit).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Batch, Consumer, KafkaMessage } from 'kafkajs';
import { createClickHouse, queryRows, type ClickHouseClient, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { createKafka } from '../../infra/kafka/local-broker';
import { decodeStoredEvent } from '../../schemas/decode-stored-event';
import { EventsRtRows, INSERT_SETTINGS, insertEventsRt, lineStructure } from '../../speed-layer/events-rt-rows';
import { SPEED_FETCH } from '../../speed-layer/main';
import { VIEW_SELECTS } from '../../speed-layer/realtime-views/views-writer';
import { reportFatal, serveCommands } from './child';
import { PEER_COLUMNS, PEER_HOURLY_SELECT, PEER_HOURLY_TARGET } from './speed-peer-view';

interface Init {
  type: 'init';
  brokers: string[];
  topic: string;
  groupId: string;
  expected: number;
  /** What is done with each batch (see the top of this file). */
  mode: 'bare' | 'floor' | 'raw' | 'views';
  /** The embedded ClickHouse of the floors. */
  dataDir?: string;
}

let init: Init;
let ch: ClickHouseHandle | undefined;
let consumer: Consumer | undefined;
let sink: RawSink | undefined;

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
      if (typeof e !== 'string') rows.add(msg.value as Buffer, e, batch.partition, Number(msg.offset));
    }
    await new Promise<void>((resolve, reject) => {
      if (pending.push({ rows, resolve, reject }) === 1) setImmediate(() => void flush());
    });
    return rows.count;
  };
}

/** What the raw and views floors hand the engine: each message's line, and the insert reading a file of them. */
interface RawSink {
  line(partition: number, m: KafkaMessage): Buffer[];
  insert(file: string): string;
}

const NL = Buffer.from('\n');

/**
 * The raw and views floors: no JS decode at all; the message bytes of the fetches, one per
 * line, handed to the engine as one file, parsed there into a Null table whose views compute.
 * Pipelined, as a floor may be: a batch is let go once queued, so the consumer fetches while
 * the engine writes (up to RAW_IN_FLIGHT writes at once, then fetching waits).
 */
const RAW_IN_FLIGHT = 2;
function rawWriter(handle: ClickHouseHandle, staging: string, sink: RawSink, written: (n: number) => void): (batch: Batch) => Promise<void> {
  let pending: Buffer[] = [];
  let lines = 0;
  let inFlight = 0;
  const freed: (() => void)[] = [];
  // One connection each, and no query parameters (chDB runs parameterised statements one at a
  // time): the file name is ours, a uuid, and the rest of the statement constant.
  const clients = handle.concurrent(RAW_IN_FLIGHT);
  const write = async (parts: Buffer[]) => {
    const file = path.join(staging, `raw-${randomUUID()}.json`);
    const client = clients.pop() as ClickHouseClient;
    try {
      await writeFile(file, Buffer.concat(parts));
      await client.command({ query: sink.insert(file) });
    } finally {
      clients.push(client);
      await rm(file, { force: true });
    }
  };
  const pump = () => {
    while (inFlight < RAW_IN_FLIGHT && pending.length > 0) {
      const parts = pending;
      const n = lines;
      pending = [];
      lines = 0;
      inFlight++;
      write(parts)
        .then(() => written(n))
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
    for (const m of batch.messages) {
      if (!m.value) continue;
      pending.push(...sink.line(batch.partition, m));
      lines++;
    }
    // One turn of the event loop lets the partitions of the same fetch join the write.
    setImmediate(pump);
    if (inFlight >= RAW_IN_FLIGHT) await new Promise<void>((r) => freed.push(r));
  };
}

/** The raw floor: the messages as they are into a Null table whose view is the Kappa peer's. */
async function prepareRaw(handle: ClickHouseHandle): Promise<RawSink> {
  await handle.client.command({ query: PEER_HOURLY_TARGET });
  await handle.client.command({ query: `CREATE TABLE raw_incoming (${PEER_COLUMNS}) ENGINE = Null` });
  await handle.client.command({ query: `CREATE MATERIALIZED VIEW raw_hourly_mv TO peer_hourly AS ${PEER_HOURLY_SELECT('raw_incoming')}` });
  return {
    line: (_partition, m) => [m.value as Buffer, NL],
    insert: (file) => `INSERT INTO raw_incoming SELECT * FROM file('${file}', JSONEachRow, '${PEER_COLUMNS}') SETTINGS input_format_skip_unknown_fields = 1`,
  };
}

/**
 * The views floor, on the migrated schema: events_rt_incoming's view (which computes the
 * columns of events_rt from a line) goes to a Null table shaped as events_rt instead, and the
 * speed views are materialized views of that table.
 */
async function prepareViews(handle: ClickHouseHandle): Promise<RawSink> {
  const run = (query: string) => handle.client.command({ query });
  await migrate(handle.client);
  const [mv] = await queryRows<{ as_select: string }>(handle.client, "SELECT as_select FROM system.tables WHERE database = currentDatabase() AND name = 'events_rt_incoming_mv'");
  if (!mv) throw new Error('the views floor: events_rt_incoming_mv is missing after the migrations');
  const structure = await lineStructure(handle.client);
  await run('DROP VIEW events_rt_incoming_mv');
  await run('CREATE TABLE events_rt_null AS events_rt ENGINE = Null');
  await run(`CREATE MATERIALIZED VIEW events_rt_incoming_floor_mv TO events_rt_null AS ${mv.as_select}`);
  for (const [view, select] of Object.entries(VIEW_SELECTS)) await run(`CREATE MATERIALIZED VIEW ${view}_floor_mv TO ${view} AS ${select('events_rt_null', '1')}`);
  return {
    // The collector writes no space after the closing brace.
    line: (partition, m) => {
      const v = m.value as Buffer;
      return [v.subarray(0, v.lastIndexOf(0x7d)), Buffer.from(`,"_p":${partition},"_o":${m.offset}}\n`)];
    },
    // The speed layer's insert (one block, so one part per view and date), its values inlined.
    insert: (file) => `INSERT INTO events_rt_incoming SELECT *, '' FROM file('${file}', JSONEachRow, '${structure}') ${INSERT_SETTINGS}`,
  };
}

serveCommands(async (m) => {
  if (m.type === 'init') {
    init = m as Init;
    if (init.mode !== 'bare') {
      if (!init.dataDir) throw new Error(`the ${init.mode} consumer needs a data directory`);
      ch = createClickHouse({ clickhouse: { url: undefined, database: 'default' }, dataDir: init.dataDir });
      if (init.mode === 'floor') await migrate(ch.client);
      else sink = init.mode === 'raw' ? await prepareRaw(ch) : await prepareViews(ch);
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
    const raw = ch && sink ? rawWriter(ch, staging, sink, written) : undefined;
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
