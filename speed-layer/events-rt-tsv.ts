/**
 * The `events_rt` rows of a batch as one TabSeparated body, for the insert. Per the speed
 * bench's profile, the client's JSONEachRow path (one JSON.stringify per row, a stream of
 * chunks that chDB joins again, and ClickHouse parsing 23 named fields) cost more than the
 * decisions themselves; TabSeparated built in one pass writes the same rows for less.
 *
 * Identical rows only: a batch with a value the two formats might read differently (a lone
 * UTF-16 surrogate, which JSON escapes but UTF-8 cannot carry; a number that is not a safe
 * integer) returns undefined, and the caller inserts it as JSONEachRow as before.
 */
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client';
import type { EventRtRow } from './partition-processor';

/** The columns of an events_rt row, in the order the TabSeparated body writes them. */
export const EVENTS_RT_COLUMNS = [
  'app_id', 'event_id', 'ts', 'received_at', 'device_id', 'type', 'name', 'country', 'os', 'app_version', 'currency',
  'error_type', 'error_message', 'fingerprint', 'channel', 'campaign_id', 'fraud_reason', 'install_kind', 'revenue_micros',
  'ip', 'ua', 'kafka_partition', 'kafka_offset',
] as const satisfies readonly (keyof EventRtRow)[];

/** What the insert names: the row's columns, then its flush group (see group-commit.ts). */
export const EVENTS_RT_INSERT_COLUMNS = [...EVENTS_RT_COLUMNS, 'flush_group'] as const;

// TabSeparated reads \\, \t, \n (and \r, \0, \b, \f, \' …) as escapes: a backslash must be escaped,
// and so must the separators. A lone surrogate sends the batch back to JSONEachRow.
const SPECIAL = /[\t\n\r\\]|\p{Cs}/u;
const LONE_SURROGATE = /\p{Cs}/u;
const ESCAPES = /[\t\n\r\\]/g;
const escapeOne = (c: string) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\\\');

class NotPortable extends Error {}

function str(s: string): string {
  if (!SPECIAL.test(s)) return s;
  if (LONE_SURROGATE.test(s)) throw new NotPortable();
  return s.replace(ESCAPES, escapeOne);
}

function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new NotPortable();
  return String(n);
}

export function eventsRtTsv(rows: readonly EventRtRow[], flushGroup: string): string | undefined {
  let out = '';
  try {
    const group = str(flushGroup);
    for (const r of rows) {
      // ts and received_at are chTime text (digits, dashes, colons, a space and a dot): no escaping.
      out += `${str(r.app_id)}\t${str(r.event_id)}\t${r.ts}\t${r.received_at}\t${str(r.device_id)}\t${str(r.type)}\t${str(r.name)}\t${str(r.country)}\t${str(r.os)}\t${str(r.app_version)}\t${str(r.currency)}\t${str(r.error_type)}\t${str(r.error_message)}\t${str(r.fingerprint)}\t${str(r.channel)}\t${str(r.campaign_id)}\t${str(r.fraud_reason)}\t${str(r.install_kind)}\t${int(r.revenue_micros)}\t${str(r.ip)}\t${str(r.ua)}\t${int(r.kafka_partition)}\t${int(r.kafka_offset)}\t${group}\n`;
    }
  } catch (err) {
    if (err instanceof NotPortable) return undefined;
    throw err;
  }
  return out;
}

const structures = new WeakMap<ClickHouseClient, Promise<string>>();

/** `name Type, …` of the inserted columns, as events_rt declares them (read once per client). */
function insertStructure(ch: ClickHouseClient): Promise<string> {
  let structure = structures.get(ch);
  if (structure) return structure;
  structure = queryRows<{ name: string; type: string }>(ch, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'events_rt'")
    .then((cols) => {
      const types = new Map(cols.map((c) => [c.name, c.type]));
      return EVENTS_RT_INSERT_COLUMNS.map((c) => {
        const t = types.get(c);
        if (!t) throw new Error(`events_rt has no column ${c}`);
        return `${c} ${t}`;
      }).join(', ');
    })
    .catch((err: unknown) => {
      structures.delete(ch);
      throw err;
    });
  structures.set(ch, structure);
  return structure;
}

/**
 * Inserts a TabSeparated body through a file the embedded engine reads (`file()`), in one part:
 * the insert squashes the whole file into one block (the group's rows become visible at once,
 * as with a client insert). The file is removed afterwards, also when the insert fails.
 */
export async function insertEventsRtFile(ch: ClickHouseClient, dir: string, tsv: string): Promise<void> {
  const file = path.join(dir, `events-rt-${randomUUID()}.tsv`);
  await writeFile(file, tsv);
  try {
    await ch.command({
      query:
        `INSERT INTO events_rt (${EVENTS_RT_INSERT_COLUMNS.join(', ')}) SELECT * FROM file({file:String}, TabSeparated, {structure:String}) ` +
        'SETTINGS max_insert_threads = 1, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 1099511627776',
      query_params: { file, structure: await insertStructure(ch) },
    });
  } finally {
    await rm(file, { force: true });
  }
}
