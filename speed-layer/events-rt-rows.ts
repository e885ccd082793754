/**
 * A flush group's rows as ClickHouse receives them: one JSON line per event, the message as
 * the collector wrote it with its partition and offset appended. ClickHouse parses the lines
 * into events_rt_incoming, whose view computes the columns of speed_staged (migrations 010 and
 * 017); the rules then decide over them in SQL (flush-group.ts).
 *
 * Why: per the speed bench, building a row object, two time strings and a TabSeparated line
 * per event, then turning the text into bytes, cost more of the JS thread than deciding the
 * events. Here JS copies the message bytes it already holds and parses nothing twice; the
 * engine parses the JSON on its own threads.
 *
 * A message goes as it is only when ClickHouse reads it exactly as decodeStoredEvent did: no
 * column the decoder had to fill or replace, valid UTF-8, no `\u` escape of a UTF-16 surrogate
 * (ClickHouse refuses a lone one; the batch layer reads it as U+FFFD, see wellFormed) and a
 * closing brace to append to. Any other message is written as the decoder read it (canonicalLine).
 * One thing the decoder cannot see, a field given twice (JSON.parse keeps the last, ClickHouse
 * refuses the line), fails the insert before it writes anything; the group is then written
 * again with every line canonical (see insertEventsRt).
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { queryRows, type ClickHouseClient } from '../infra/clickhouse/client';
import { decodeStoredEvent, filledByDecode } from '../schemas/decode-stored-event';
import { STORED_COLUMNS, type StoredEvent } from '../schemas/event';
import { DayPlans } from './realtime-views/views-writer';

/**
 * One insert, so one block, so one part of events_rt (the group's rows appear at once, or not
 * at all). Settings in the SQL: chDB keeps per-call settings for later calls.
 */
export const INSERT_SETTINGS =
  'SETTINGS max_insert_threads = 1, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 1099511627776, input_format_skip_unknown_fields = 1';

const BACKSLASH_U = Buffer.from('\\u');

/** Whether the JSON text has a `\u` escape of a UTF-16 surrogate (`\uD800`–`\uDFFF`, either case); one scan, as other escapes are rare. */
function hasSurrogateEscape(value: Buffer): boolean {
  for (let i = value.indexOf(BACKSLASH_U); i >= 0; i = value.indexOf(BACKSLASH_U, i + 2)) {
    const c = value[i + 2];
    if (c === 0x64 || c === 0x44) return true; // d, D
  }
  return false;
}

/** The string with any lone UTF-16 surrogate replaced by U+FFFD, as UTF-8 encoding (the archive) writes it. */
export function wellFormed(s: string): string {
  return s.isWellFormed() ? s : s.toWellFormed();
}


/** Index of the closing brace of a JSON object text (trailing whitespace allowed), or -1. */
function closingBrace(value: Buffer): number {
  let i = value.length - 1;
  while (i > 0 && (value[i] === 0x20 || value[i] === 0x0a || value[i] === 0x0d || value[i] === 0x09)) i--;
  return value[i] === 0x7d ? i : -1;
}

/** The event as the decoder read it, its stored columns only, strings well-formed, without the closing brace. */
function canonicalLine(e: StoredEvent): Buffer {
  const row = e as unknown as Record<string, string | number>;
  const clean: Record<string, string | number> = {};
  for (const c of STORED_COLUMNS) {
    const v = row[c.name];
    clean[c.name] = typeof v === 'string' ? wellFormed(v) : v;
  }
  const text = JSON.stringify(clean);
  return Buffer.from(text.slice(0, -1));
}

/** A message written as it was, decoded again for its canonical line. */
function canonicalAgain(value: Buffer): Buffer {
  const e = decodeStoredEvent(value);
  if (typeof e === 'string') throw new Error(`events_rt row no longer decodes: ${e}`);
  return canonicalLine(e);
}

/** The rows one or more batches write to events_rt (several for a flush group: see concat). */
export class EventsRtRows {
  /** Each row's JSON without its closing brace: the message's own bytes, or its canonical line. */
  private readonly heads: Buffer[] = [];
  /** Where the message's closing brace is (heads that are the message), or -1 (canonical lines). */
  private readonly braces: number[] = [];
  /** What follows each head: the appended fields, the closing brace and the newline. */
  private readonly tails: string[] = [];
  /** Each row's collector receive time (ms), for the freshness metric. */
  readonly receivedAt: number[] = [];
  /** Which view inserts the rows need (views-writer.ts). */
  readonly plan = new DayPlans();
  /** The apps the rows are of: whose rule settings the group's decisions read. */
  readonly appIds = new Set<string>();
  /** Offset of the last row added (-1: none). */
  lastOffset = -1;

  get count(): number {
    return this.heads.length;
  }

  add(value: Buffer, e: StoredEvent, partition: number, offset: number): void {
    const brace = filledByDecode(e) || !isUtf8(value) || hasSurrogateEscape(value) ? -1 : closingBrace(value);
    this.heads.push(brace < 0 ? canonicalLine(e) : value);
    this.braces.push(brace);
    this.tails.push(`,"_p":${partition},"_o":${offset}}\n`);
    this.receivedAt.push(e.received_at);
    this.plan.note(e.ts, e.type, e.ip, e.ua);
    this.appIds.add(e.app_id);
    this.lastOffset = offset;
  }

  /** The rows of several batches, in order. */
  static concat(parts: readonly EventsRtRows[]): EventsRtRows {
    if (parts.length === 1) return parts[0];
    const all = new EventsRtRows();
    for (const p of parts) {
      for (let i = 0; i < p.heads.length; i++) {
        all.heads.push(p.heads[i]);
        all.braces.push(p.braces[i]);
        all.tails.push(p.tails[i]);
      }
      all.plan.merge(p.plan);
      for (const a of p.appIds) all.appIds.add(a);
      all.lastOffset = p.lastOffset;
    }
    return all;
  }

  /**
   * The JSONEachRow body. `group`: the flush group each line names (none: the insert names it).
   * `canonical`: every line as the decoder reads its message (decoded again here), for a group
   * whose lines as they are were refused.
   */
  body(group?: string, canonical = false): Buffer {
    // A canonical line may be longer than its message (a number spelt 1e12): made before sizing.
    const heads = canonical ? this.heads.map((h, i) => (this.braces[i] < 0 ? h : canonicalAgain(h))) : this.heads;
    const braces = canonical ? heads.map((h) => h.length) : this.braces;
    // Each tail ends the line; with a group, the group goes before its brace.
    const groupEnd = group ? `,"_g":${JSON.stringify(group)}}\n` : undefined;
    let size = 0;
    for (let i = 0; i < heads.length; i++) size += heads[i].length + (this.tails[i].length + (groupEnd?.length ?? 0)) * 3;
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      // The whole message, then the tail over its brace: TypedArray#set costs less per call than Buffer#copy of a range.
      out.set(head, at);
      at += braces[i] < 0 ? head.length : braces[i];
      if (groupEnd) at += out.write(this.tails[i].slice(0, -2) + groupEnd, at);
      else at += out.write(this.tails[i], at);
    }
    return out.subarray(0, at);
  }
}

/**
 * Writes a flush group's rows to speed_staged in one insert (one part). The embedded engine
 * reads them from a file in `stagingDir` (about 4× cheaper than streaming them through the
 * client); otherwise they go as the request body. An insert refused while parsing its input
 * wrote nothing, and is written again with canonical lines.
 */
export async function insertEventsRt(ch: ClickHouseClient, rows: EventsRtRows, group: string, stagingDir: string | undefined): Promise<void> {
  try {
    await insertOnce(ch, rows, group, stagingDir, false);
  } catch (err) {
    if (!isInputError(err)) throw err;
    await insertOnce(ch, rows, group, stagingDir, true);
  }
}

async function insertOnce(ch: ClickHouseClient, rows: EventsRtRows, group: string, stagingDir: string | undefined, canonical: boolean): Promise<void> {
  if (!stagingDir) return insertFromBody(ch, rows.body(group, canonical));
  const file = path.join(stagingDir, `events-rt-${randomUUID()}.json`);
  try {
    await writeFile(file, rows.body(undefined, canonical));
    await insertFromFile(ch, file, group);
  } finally {
    await rm(file, { force: true });
  }
}

/** ClickHouse marks errors of parsing input with the row they were found at. */
const isInputError = (err: unknown) => /\(at row \d+\)/.test(String((err as Error)?.message));

const structures = new WeakMap<ClickHouseClient, Promise<string>>();

/** `name Type, …` of the lines' fields, as events_rt_incoming declares them (read once per client); the group is named by the insert. */
export function lineStructure(ch: ClickHouseClient): Promise<string> {
  let structure = structures.get(ch);
  if (structure) return structure;
  structure = queryRows<{ name: string; type: string }>(
    ch,
    "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'events_rt_incoming' AND name != '_g' ORDER BY position",
  )
    .then((cols) => {
      if (cols.length === 0) throw new Error('events_rt_incoming is missing: run the migrations');
      return cols.map((c) => `${c.name} ${c.type}`).join(', ');
    })
    .catch((err: unknown) => {
      structures.delete(ch);
      throw err;
    });
  structures.set(ch, structure);
  return structure;
}

async function insertFromFile(ch: ClickHouseClient, file: string, group: string): Promise<void> {
  await ch.command({
    query: `INSERT INTO events_rt_incoming SELECT *, {group:String} FROM file({file:String}, JSONEachRow, {structure:String}) ${INSERT_SETTINGS}`,
    query_params: { file, group, structure: await lineStructure(ch) },
  });
}

async function insertFromBody(ch: ClickHouseClient, body: Buffer): Promise<void> {
  const result = await ch.exec({ query: `INSERT INTO events_rt_incoming ${INSERT_SETTINGS} FORMAT JSONEachRow`, values: Readable.from([body], { objectMode: false }) });
  result.stream.destroy();
}
