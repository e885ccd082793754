/**
 * How the recompute's SQL reads a pinned set of archive files: the ClickHouse table function
 * over the files' day directories, restricted to exactly the pinned files by their virtual
 * `_path`/`_file` columns. ClickHouse evaluates that filter on the file list before reading,
 * also with the set read from a table, so files outside the set cost nothing. The file names
 * go as data into `pinned_files_batch` (infra/clickhouse/row-sets.ts): a run reads thousands.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { insertRowSet } from '../../infra/clickhouse/row-sets';
import { settingsSql, sourceSettings, tableFunctionSql, type ObjectStore } from '../../infra/object-store/object-store';
import { ARCHIVE_PREFIX, type ArchiveFile } from '../../schemas/archive-layout';
import { clickhouseColumns } from '../../schemas/event';

export interface PinnedSource {
  /** A parenthesised subquery yielding the archive columns of the pinned files. */
  sql: string;
  params: Record<string, unknown>;
}

/** `dt=YYYY-MM-DD/<file name>`, what the filter compares with. */
const pinnedName = (f: ArchiveFile) => `dt=${f.date}/${f.key.slice(f.key.lastIndexOf('/') + 1)}`;
const PINNED_EXPR = `concat(extract(_path, 'dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/'), _file)`;

/** A set of pinned archive files: its id in `pinned_files_batch` and the days it holds files of. */
export interface PinnedFiles {
  set: string;
  days: string[];
}

/** Pins `files` as a new set. */
export async function pinFiles(ch: ClickHouseClient, files: readonly ArchiveFile[]): Promise<PinnedFiles> {
  const set = await insertRowSet(ch, 'pinned_files_batch', files.map((f) => ({ name: pinnedName(f) })));
  return { set, days: [...new Set(files.map((f) => f.date))].sort() };
}

/**
 * The subquery reading the pinned files of `days` (default: all of them); its one parameter,
 * `pinned_set`, names the set. Besides the archive columns it yields `file_hash`, which file
 * the row came from (a Kafka record archived in two files is one copy,
 * sql/01-duplicate-losers.sql).
 */
export function pinnedSourceSql(store: ObjectStore, pinned: PinnedFiles, days?: readonly string[]): PinnedSource {
  // The glob names only the day directories of the pinned files: ClickHouse lists what the
  // glob matches before it filters by path, and the whole archive must never be listed.
  const read = days ? pinned.days.filter((d) => days.includes(d)) : pinned.days;
  const dirs = read.length === 0 ? 'dt=0000-00-00' : read.length === 1 ? `dt=${read[0]}` : `{${read.map((d) => `dt=${d}`).join(',')}}`;
  const fn = tableFunctionSql(store.clickhouseSource(`${ARCHIVE_PREFIX}${dirs}/*.arrow`), 'Arrow', clickhouseColumns());
  return {
    sql: `(SELECT *, cityHash64(_path) AS file_hash FROM ${fn} WHERE ${PINNED_EXPR} IN (SELECT name FROM pinned_files_batch WHERE set_id = {pinned_set:String}))`,
    params: { pinned_set: pinned.set },
  };
}

/** Pins `files` and returns the subquery reading them all. */
export async function pinnedSource(ch: ClickHouseClient, store: ObjectStore, files: readonly ArchiveFile[]): Promise<PinnedSource> {
  return pinnedSourceSql(store, await pinFiles(ch, files));
}

export function readSettingsSql(store: ObjectStore): string {
  return settingsSql(sourceSettings(store.clickhouseSource(`${ARCHIVE_PREFIX}*/*.arrow`)));
}
