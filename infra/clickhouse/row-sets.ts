/**
 * A list a statement filters by, passed as data: its rows are inserted (in the request body)
 * under a fresh set id into a table made for such sets, and the statement reads them back with
 * `IN (SELECT … FROM <table> WHERE set_id = {set:String})`. As a query parameter the list
 * would go in the URL (@clickhouse/client sends `param_*` there), which a ClickHouse server
 * refuses over `http_max_uri_size`, 1 MiB (the embedded engine has no URL, so only the server
 * path ever failed). Each table bounds itself with a TTL.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';

/** Tables of row sets (an allow-list: the name goes into the SQL). */
export type RowSetTable = 'pinned_files_batch' | 'probes_rt';

/** Inserts `rows` as a new set of `table` and returns its id. */
export async function insertRowSet(ch: ClickHouseClient, table: RowSetTable, rows: readonly Record<string, unknown>[]): Promise<string> {
  const setId = randomUUID();
  if (rows.length) await ch.insert({ table, values: rows.map((r) => ({ ...r, set_id: setId })), format: 'JSONEachRow' });
  return setId;
}
