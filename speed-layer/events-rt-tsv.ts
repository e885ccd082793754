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
