/**
 * Compaction of a closed day's archive files (DESIGN.md section 5, "Retention"): per Kafka
 * partition, the day's small files become one file, ZSTD-compressed and sorted so that like
 * values sit together, named after the union of their offset ranges. Every Kafka record stays
 * in exactly one file as the batch layer reads the archive, whatever step a crash interrupts:
 *
 *   1. ClickHouse writes the merged rows to a temporary key outside `events/` (no reader lists
 *      it), and their number is checked against the sources';
 *   2. the store moves it to its final key in one atomic step: from then on the snapshot reads
 *      it and skips the sources, whose ranges it holds (archive-snapshot.ts);
 *   3. the sources are deleted; 4. the day's compaction state records the partition's file.
 *
 * A crash before 2 leaves a temporary object (deleted by the next compaction of the day) and
 * the sources as they were; after 2 the sources are dead weight until the next compaction
 * deletes them. Files of a range still being archived are left alone (their range ends at or
 * above the partition's `next`), and a late event archived after a compaction lands in a new
 * file above the compacted range, merged by the next compaction of its day.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../../infra/clickhouse/client';
import { settingsSql, sourceSettings, tableFunctionSql, type ObjectStore } from '../../infra/object-store/object-store';
import { archiveKey, datePrefix, parseArchiveKey, type ArchiveFile } from '../../schemas/archive-layout';
import { ARCHIVE_COLUMNS, clickhouseColumns } from '../../schemas/event';
import { filesByPartition, readArchiverStates, readableFiles } from '../archive-snapshot';
import { pinnedSource } from './archive-source';

export type CompactionStep = 'written' | 'renamed' | 'deleted';

export interface CompactionHooks {
  /** Called after each step of a partition (tests kill the process here). */
  afterStep?: (step: CompactionStep, partition: number) => Promise<void>;
}

export interface DayCompaction {
  day: string;
  /** Partitions whose files were merged. */
  partitions: number;
  filesBefore: number;
  filesAfter: number;
  rows: number;
}

const TMP_PREFIX = '_tmp/compaction/';
const stateKey = (day: string) => `_state/compaction/dt=${day}.json`;

/** Per partition, the key of the file the last compaction of the day wrote. */
type CompactionState = Record<string, string>;

/**
 * Rows of one device together, in time order, and every string column but the near-unique
 * ones dictionary-encoded: a device's values repeat row after row, and dictionary indices of a
 * sorted column compress to almost nothing under ZSTD. Measured on 200k generated events
 * (bench/batch.ts, `archive_bytes_per_event`): 38.7 B/event, against 74.8 sorted by app, type,
 * os, country, version and device without dictionaries, and 70.1 in offset order.
 */
const ORDER_BY = 'app_id, device_id, ts, kafka_partition, kafka_offset';
const NOT_DICTIONARY = new Set(['event_id', 'properties', 'error_message']);
/**
 * A fresh dictionary per column: a column read from a dictionary-encoded source file is already
 * LowCardinality, sharing the source's dictionary, and ClickHouse 26.7 writes such a column
 * (after filtering or sorting) with indices past the dictionary it writes, a file it cannot
 * read back ("Arrow IPC dictionary index out of range"); `concat(x, '')` builds a new one.
 */
const SELECTED = ARCHIVE_COLUMNS.map((c) =>
  (c.kind === 'string' || c.kind === 'dict') && !NOT_DICTIONARY.has(c.name) ? `toLowCardinality(concat(${c.name}, '')) AS ${c.name}` : c.name,
).join(', ');

const WRITE_SETTINGS = {
  output_format_arrow_compression_method: 'zstd',
  output_format_arrow_string_as_string: 1,
  output_format_arrow_low_cardinality_as_dictionary: 1,
  engine_file_truncate_on_insert: 1,
  s3_truncate_on_insert: 1,
} as const;

export async function compactDay(ch: ClickHouseClient, store: ObjectStore, day: string, hooks: CompactionHooks = {}): Promise<DayCompaction> {
  for (const key of await store.list(`${TMP_PREFIX}${day}-`)) await store.delete(key); // left by a crash
  const next = await readArchiverStates(store);
  const all = (await store.list(datePrefix(day))).map(parseArchiveKey).filter((f): f is ArchiveFile => f !== undefined && f.date === day);
  const complete = all.filter((f) => f.last < (next.get(f.partition) ?? 0));
  const state = await readState(store, day);
  const result: DayCompaction = { day, partitions: 0, filesBefore: complete.length, filesAfter: complete.length, rows: 0 };

  for (const [partition, files] of [...filesByPartition(complete)].sort((a, b) => a[0] - b[0])) {
    const sources = readableFiles(files);
    const read = new Set(sources);
    const dead = files.filter((f) => !read.has(f)); // held by a larger file already
    if (sources.length === 1 && state[partition] === sources[0].key) {
      for (const f of dead) await store.delete(f.key);
      result.filesAfter -= dead.length;
      continue;
    }
    const target = archiveKey(day, partition, Math.min(...sources.map((f) => f.first)), Math.max(...sources.map((f) => f.last)));
    result.rows += await mergeInto(ch, store, day, sources, target, hooks);
    await hooks.afterStep?.('renamed', partition);
    for (const f of [...sources, ...dead]) if (f.key !== target) await store.delete(f.key);
    await hooks.afterStep?.('deleted', partition);
    state[partition] = target;
    await store.put(stateKey(day), Buffer.from(JSON.stringify(state)));
    result.partitions += 1;
    result.filesAfter -= sources.length + dead.length - 1;
  }
  return result;
}

/** Steps 1 and 2: the merged rows under a temporary key, checked, then moved to `target`. */
async function mergeInto(ch: ClickHouseClient, store: ObjectStore, day: string, sources: ArchiveFile[], target: string, hooks: CompactionHooks): Promise<number> {
  const tmp = `${TMP_PREFIX}${day}-${randomUUID()}.arrow`;
  const source = await pinnedSource(ch, store, sources);
  const out = tableFunctionSql(store.clickhouseSource(tmp), 'Arrow', clickhouseColumns());
  const readSettings = sourceSettings(store.clickhouseSource(tmp));
  await ch.command({
    query: `INSERT INTO FUNCTION ${out} SELECT ${SELECTED} FROM ${source.sql} ORDER BY ${ORDER_BY} ${settingsSql({ ...readSettings, ...WRITE_SETTINGS })}`,
    query_params: source.params,
  });
  await hooks.afterStep?.('written', sources[0].partition);
  const [{ written }] = await queryRows<{ written: string }>(ch, `SELECT count() AS written FROM ${out} ${settingsSql(readSettings)}`);
  const [{ read }] = await queryRows<{ read: string }>(ch, `SELECT count() AS read FROM ${source.sql} ${settingsSql(readSettings)}`, source.params);
  if (Number(written) !== Number(read)) {
    await store.delete(tmp);
    throw new Error(`compaction of ${target} wrote ${written} rows of ${read}; the day's files are left as they were`);
  }
  await store.rename(tmp, target);
  return Number(read);
}

async function readState(store: ObjectStore, day: string): Promise<CompactionState> {
  const body = await store.get(stateKey(day));
  return body ? (JSON.parse(body.toString('utf8')) as CompactionState) : {};
}
