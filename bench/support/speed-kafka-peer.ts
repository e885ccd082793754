/**
 * The Kappa peer of the speed bench: ClickHouse's own Kafka table engine with a materialized
 * view computing the hourly view (`count()` + `uniqExactState(device_id)` per app, hour,
 * type and the event's own dimensions) into an AggregatingMergeTree, in embedded chDB in
 * this process (one data directory per process). Tuned as in FIELD-NOTES ("The Kafka engine
 * as a peer"): two consumers with a thread each, short flush/poll/reschedule intervals,
 * JSONEachRow declaring only the columns the view needs.
 *
 * Consuming starts when the materialized view is created (`go`); done when the view has
 * counted `expected` events. A fresh consumer group starts from the earliest offset.
 *
 * Protocol: init → ready, go → done { events, ms }, stop (exit).
 */
import { createClickHouse, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { serveCommands } from './child';
import { PEER_COLUMNS, PEER_HOURLY_SELECT, PEER_HOURLY_TARGET } from './speed-peer-view';

interface Init {
  type: 'init';
  broker: string;
  topic: string;
  groupId: string;
  dataDir: string;
  expected: number;
  flushIntervalMs: number;
  timeoutMs: number;
}

let init: Init;
let ch: ClickHouseHandle | undefined;

// DDL takes no query parameters: the few values are checked against a strict pattern instead.
const SAFE = /^[A-Za-z0-9._:-]+$/;
const safe = (v: string, what: string): string => {
  if (!SAFE.test(v)) throw new Error(`${what} ${JSON.stringify(v)} is not a plain name`);
  return v;
};

const createKafkaTable = (o: Init) => `
CREATE TABLE peer_kafka (${PEER_COLUMNS}) ENGINE = Kafka
SETTINGS kafka_broker_list = '${safe(o.broker, 'broker')}', kafka_topic_list = '${safe(o.topic, 'topic')}',
  kafka_group_name = '${safe(o.groupId, 'group')}', kafka_format = 'JSONEachRow',
  kafka_num_consumers = 2, kafka_thread_per_consumer = 1, kafka_flush_interval_ms = ${Math.trunc(o.flushIntervalMs)},
  kafka_poll_timeout_ms = 50, kafka_consumer_reschedule_ms = 100, input_format_skip_unknown_fields = 1`;

const createView = `CREATE MATERIALIZED VIEW peer_hourly_mv TO peer_hourly AS ${PEER_HOURLY_SELECT('peer_kafka')}`;

async function counted(): Promise<number> {
  const rs = await (ch as ClickHouseHandle).client.query({ query: 'SELECT toUInt64(sum(events)) AS n FROM peer_hourly', format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: number | string }>();
  return Number(row?.n ?? 0);
}

async function stop(code: number): Promise<never> {
  // Dropping the view first stops the engine's consumers before the connection closes.
  await ch?.client.command({ query: 'DROP VIEW IF EXISTS peer_hourly_mv' }).catch(() => undefined);
  await ch?.close().catch(() => undefined);
  process.exit(code);
}

serveCommands(async (m) => {
  if (m.type === 'init') {
    init = m as Init;
    ch = createClickHouse({ clickhouse: { url: undefined, database: 'default' }, dataDir: init.dataDir });
    await ch.client.command({ query: PEER_HOURLY_TARGET });
    await ch.client.command({ query: createKafkaTable(init) });
    process.send?.({ type: 'ready' });
  } else if (m.type === 'go') {
    const t0 = performance.now();
    await ch!.client.command({ query: createView });
    let n = 0;
    for (;;) {
      n = await counted();
      if (n >= init.expected) break;
      if (performance.now() - t0 > init.timeoutMs) throw new Error(`the Kafka engine counted ${n} of ${init.expected} events in ${init.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    process.send?.({ type: 'done', events: n, ms: performance.now() - t0 });
  } else if (m.type === 'stop') {
    await stop(0);
  }
}, stop);
