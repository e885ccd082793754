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

/**
 * Pins `files` as a new set and returns the subquery reading them; its one parameter,
 * `pinned_set`, names the set. Besides the archive columns the subquery yields `file_hash`,
 * which file the row came from (a Kafka record archived in two files is one copy,
 * sql/02-duplicate-losers.sql).
 */
export async function pinnedSource(ch: ClickHouseClient, store: ObjectStore, files: readonly ArchiveFile[]): Promise<PinnedSource> {
  const set = await insertRowSet(ch, 'pinned_files_batch', files.map((f) => ({ name: pinnedName(f) })));
  // The glob names only the day directories of the pinned files: ClickHouse lists what the
  // glob matches before it filters by path, and the whole archive must never be listed.
  const days = [...new Set(files.map((f) => f.date))].sort();
  const dirs = days.length === 0 ? 'dt=0000-00-00' : days.length === 1 ? `dt=${days[0]}` : `{${days.map((d) => `dt=${d}`).join(',')}}`;
  const fn = tableFunctionSql(store.clickhouseSource(`${ARCHIVE_PREFIX}${dirs}/*.arrow`), 'Arrow', clickhouseColumns());
  return {
    sql: `(SELECT *, cityHash64(_path) AS file_hash FROM ${fn} WHERE ${PINNED_EXPR} IN (SELECT name FROM pinned_files_batch WHERE set_id = {pinned_set:String}))`,
    params: { pinned_set: set },
  };
}

export function readSettingsSql(store: ObjectStore): string {
  return settingsSql(sourceSettings(store.clickhouseSource(`${ARCHIVE_PREFIX}*/*.arrow`)));
}
