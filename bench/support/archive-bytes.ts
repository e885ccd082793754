/**
 * What the master dataset costs per event once compacted (issue 15's `archive_bytes_per_event`):
 * generated traffic (`weir generate`'s generator, 200k events by default,
 * `BENCH_ARCHIVE_EVENTS`) sent through a real collector into a real broker, archived by the
 * real archiver, then each archived day compacted as a batch run does it
 * (batch-layer/jobs/compact-archive.ts). Prints and returns the bytes per event before and
 * after compaction.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import type { ClickHouseClient } from '@clickhouse/client';
import { readArchiverStates } from '../../batch-layer/archive-snapshot';
import { compactDay } from '../../batch-layer/jobs/compact-archive';
import { createTopicIdLookup } from '../../infra/kafka/topic-id';
import { createKafka, ensureTopics, startLocalBroker } from '../../infra/kafka/local-broker';
import { createObjectStore, sqlStringLiteral } from '../../infra/object-store/object-store';
import { CACHE_DIR } from '../../infra/paths';
import { startArchiver } from '../../ingest/archiver/main';
import { generateEvents } from '../../ingest/load-generator/generate-events';
import { sendEvents } from '../../ingest/load-generator/send-events';
import { ARCHIVE_PREFIX, parseArchiveKey } from '../../schemas/archive-layout';
import { clickhouseColumns } from '../../schemas/event';
import { topicNames } from '../../schemas/topics';
import { forkChild, type ChildMessage } from './child';
import { fmt } from './format';

const APP_ID = 'bench-archive';
const PARTITIONS = 6;

export interface ArchiveBytes {
  events: number;
  rawBytesPerEvent: number;
  compactedBytesPerEvent: number;
  /** Event ids, device ids, times and offsets alone: what any lossless Arrow + ZSTD archive needs at least. */
  floorBytesPerEvent: number;
  filesBefore: number;
  filesAfter: number;
}

export async function measureArchiveBytes(ch: ClickHouseClient, dir: string, say: (line: string) => void): Promise<ArchiveBytes> {
  const events = Number(process.env.BENCH_ARCHIVE_EVENTS ?? 200_000);
  const broker = await startLocalBroker({ dataDir: path.join(dir, 'kafka'), cacheDir: CACHE_DIR, log: (m) => process.stderr.write(`[bench broker] ${m}\n`) });
  const prefix = `bench-${randomBytes(3).toString('hex')}-`;
  const topics = topicNames(prefix);
  const store = createObjectStore(`file://${path.join(dir, 'archive-real')}`);
  const adminToken = `admin-${randomBytes(12).toString('hex')}`;
  const collector = forkChild('collector', path.join(__dirname, 'collector-process.ts'), {
    env: {
      ...process.env,
      KAFKA_BROKERS: broker.brokers.join(','),
      DATA_DIR: path.join(dir, 'collector'),
      PORT: '0',
      HOST: '127.0.0.1',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENTS_PARTITIONS: String(PARTITIONS),
      ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_EVENTS_PER_S: '1000000000',
      RATE_LIMIT_REQUESTS_PER_S: '100000000',
    },
  });
  const archiver = await (async () => {
    await ensureTopics(broker.brokers, [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
    ]);
    return startArchiver(
      { groupId: `${prefix}archiver`, topics },
      {
        kafka: createKafka(broker.brokers, 'bench-archiver'),
        store,
        registry: new Registry(),
        log: pino({ level: 'warn' }),
        onFatal: (err) => say(`archiver failed: ${err.message}`),
        topicIdOf: createTopicIdLookup(broker.brokers),
      },
    );
  })();
  try {
    const ready = await collector.next<ChildMessage & { url: string }>('ready', 120_000);
    const res = await fetch(`${ready.url}/v1/admin/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ app_id: APP_ID }),
    });
    if (res.status !== 201) throw new Error(`creating the bench app failed: ${res.status} ${await res.text()}`);
    const { write_key } = (await res.json()) as { write_key: string };
    // One day of traffic, ending an hour ago (the collector refuses events far in the future).
    const end = Date.now() - 3_600_000;
    const sent = await sendEvents(generateEvents({ seed: 7, startMs: end - 86_400_000, endMs: end, apps: [APP_ID], events }), {
      url: ready.url,
      keys: { [APP_ID]: write_key },
      batchSize: 500,
      concurrency: 4,
    });
    if (sent.failedBatches > 0) throw new Error(`${sent.failedBatches} batches failed to send`);

    const admin = createKafka(broker.brokers, 'bench-archive-watermarks').admin();
    await admin.connect();
    const high = new Map((await admin.fetchTopicOffsets(topics.events)).map((o) => [o.partition, Number(o.high)]));
    await admin.disconnect();
    for (;;) {
      const next = await readArchiverStates(store);
      if ([...high].every(([p, h]) => (next.get(p) ?? 0) >= h)) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const before = await archiveSize(store);
    for (const day of before.days) await compactDay(ch, store, day);
    const after = await archiveSize(store);
    // With the archive's structure, as the batch layer reads it.
    const files = `${sqlStringLiteral(path.join(dir, 'archive-real', ARCHIVE_PREFIX, '*/*.arrow'))}, 'Arrow', ${sqlStringLiteral(clickhouseColumns())}`;
    const [{ n }] = await (await ch.query({ query: `SELECT count() AS n, sum(ts) AS s FROM file(${files})`, format: 'JSONEachRow' })).json<{ n: string }>();
    const archived = Number(n);
    // The floor: the columns no encoding can shrink much, alone in one file, sorted and
    // compressed as compaction does it: the random event ids (UUID text, ~15 B of entropy
    // each), the device ids and the times and positions every record keeps.
    const floorFile = path.join(dir, 'archive-floor.arrow');
    await ch.command({
      query: `INSERT INTO FUNCTION file(${sqlStringLiteral(floorFile)}, 'Arrow')
              SELECT event_id, toLowCardinality(device_id) AS device_id, ts, client_ts, received_at, kafka_offset FROM file(${files})
              ORDER BY app_id, device_id, ts
              SETTINGS output_format_arrow_compression_method = 'zstd', output_format_arrow_string_as_string = 1,
                       output_format_arrow_low_cardinality_as_dictionary = 1, engine_file_truncate_on_insert = 1`,
    });
    const out = {
      events: archived,
      rawBytesPerEvent: round(before.bytes / archived),
      compactedBytesPerEvent: round(after.bytes / archived),
      floorBytesPerEvent: round(statSync(floorFile).size / archived),
      filesBefore: before.files,
      filesAfter: after.files,
    };
    say(
      `archive of ${fmt(archived)} events through the collector and the archiver: ${out.rawBytesPerEvent} B/event in ${fmt(out.filesBefore)} files as archived, ` +
        `${out.compactedBytesPerEvent} B/event in ${out.filesAfter} files after compaction; floor (event ids, device ids, times and offsets alone, in one file) ${out.floorBytesPerEvent} B/event`,
    );
    return out;
  } finally {
    await archiver.stop().catch(() => undefined);
    collector.send({ type: 'stop' });
    await Promise.race([collector.exited, new Promise((r) => setTimeout(r, 20_000).unref())]);
    await collector.kill();
    await broker.stop();
  }
}

async function archiveSize(store: ReturnType<typeof createObjectStore>): Promise<{ bytes: number; files: number; days: string[] }> {
  const keys = (await store.list(ARCHIVE_PREFIX)).filter((k) => parseArchiveKey(k));
  let bytes = 0;
  for (const k of keys) bytes += (await store.get(k))?.byteLength ?? 0;
  return { bytes, files: keys.length, days: [...new Set(keys.map((k) => parseArchiveKey(k)?.date as string))].sort() };
}

const round = (x: number) => Math.round(x * 100) / 100;
