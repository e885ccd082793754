/**
 * The speed layer's staged rows as ClickHouse stores them (speed-layer/events-rt-rows.ts, into
 * speed_staged): the collector's messages as they are, with their partition and offset
 * appended, and every message ClickHouse would read differently from the decoder written as
 * the decoder read it.
 * What is stored is compared with the plain-code reading of the rows (events-rt-reference.ts).
 * Each test runs in both ways the rows reach the engine.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createClickHouse, queryRows, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { decodeStoredEvent } from '../../schemas/decode-stored-event';
import type { StoredEvent } from '../../schemas/event';
import { EventsRtRows, insertEventsRt } from '../../speed-layer/events-rt-rows';
import { rowsOf, type EventRtRow } from '../support/events-rt-reference';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';
import { readEventsRt } from '../support/speed-fixture';

const T = Date.UTC(2026, 10, 24, 10);

const stored = (over: Partial<StoredEvent> = {}): StoredEvent => ({
  event_id: 'e', app_id: 'app', type: 'event', ts: T, client_ts: T, sent_at: 0, received_at: T + 1000, device_id: 'd1',
  ip: '10.0.0.1', ua: 'UA/1', os: 'ios', os_version: '17', app_version: '1.0', country: 'DE', campaign_id: '', channel: '',
  name: 'signup', revenue_micros: 0, currency: '', error_type: '', error_message: '', fingerprint: '', properties: '{"k":1}',
  ...over,
});

let dir: string;
let handle: ClickHouseHandle;
let staging: string;

beforeEach(async () => {
  dir = makeScratchDir('weir-events-rt-rows');
  handle = createClickHouse({ dataDir: dir, clickhouse: { url: undefined, database: 'weir' } });
  await migrate(handle.client);
  staging = path.join(dir, 'staging');
  mkdirSync(staging);
});

afterEach(async () => {
  await handle.close();
  removeScratchDir(dir);
});

/** Adds each message as the speed layer does (decoded) at offsets 0, 1, … */
function rowsFor(messages: (Buffer | string)[]): EventsRtRows {
  const rows = new EventsRtRows();
  messages.forEach((m, i) => {
    const value = Buffer.isBuffer(m) ? m : Buffer.from(m);
    const e = decodeStoredEvent(value);
    if (typeof e === 'string') throw new Error(e);
    rows.add(value, e, 4, i);
  });
  return rows;
}

/** speed_staged as stored, each row with the fields of EventRtRow only. */
async function storedRows(): Promise<EventRtRow[]> {
  const rows = await readEventsRt(handle.client, 'speed_staged');
  const fields = Object.keys(rowsOf(rowsFor([JSON.stringify(stored())]))[0]) as (keyof EventRtRow)[];
  return rows.map((r) => Object.fromEntries(fields.map((f) => [f, r[f]])) as unknown as EventRtRow);
}

// The embedded engine's file, and the request body a server gets (also run on chDB here).
describe.each([['from a staged file', true], ['as the request body', false]])('staged rows %s', (_how, staged) => {
  const stagingDir = () => (staged ? staging : undefined);

  it('stores collector messages of every type with their position, the type-dependent columns as DESIGN.md section 5 says', async () => {
    const messages = [
      stored({ event_id: 'ev', type: 'event', name: 'signup', currency: 'EUR', error_type: 'X' }),
      stored({ event_id: 'pu', type: 'purchase', name: 'n', currency: 'EUR', revenue_micros: 4_990_000 }),
      stored({ event_id: 'er', type: 'error', error_type: 'Crash', error_message: 'boom "quoted"\n\ttab \\ é 😀', fingerprint: 'f1' }),
      stored({ event_id: 'cl', type: 'click', channel: 'net', campaign_id: 'c1' }),
      stored({ event_id: 'in', type: 'install' }),
      stored({ event_id: 'la', type: 'launch', revenue_micros: 7 }),
    ].map((e) => JSON.stringify(e));
    const rows = rowsFor(messages);
    await insertEventsRt(handle.client, rows, 'g1', stagingDir());
    const got = await storedRows();
    expect(got).toEqual(rowsOf(rows));
    const byId = new Map(got.map((r) => [r.event_id, r]));
    expect(byId.get('ev')).toMatchObject({ name: 'signup', currency: '', error_type: '', ts: '2026-11-24 10:00:00.000', received_at: '2026-11-24 10:00:01.000' });
    expect(byId.get('pu')).toMatchObject({ name: '', currency: 'EUR', revenue_micros: 4_990_000 });
    expect(byId.get('er')).toMatchObject({ error_type: 'Crash', error_message: 'boom "quoted"\n\ttab \\ é 😀', fingerprint: 'f1' });
    expect(byId.get('cl')).toMatchObject({ channel: 'net', campaign_id: 'c1' });
    expect(byId.get('in')).toMatchObject({ kafka_partition: 4, kafka_offset: 4 });
    expect(byId.get('la')).toMatchObject({ revenue_micros: 0 });
    const [g] = await queryRows<{ groups: string[] }>(handle.client, 'SELECT groupUniqArray(flush_group) AS groups FROM speed_staged');
    expect(g.groups).toEqual(['g1']);
  });

  it('writes as the decoder read them: filled columns, lone surrogates, invalid UTF-8, fractional times, unknown fields', async () => {
    const base = JSON.stringify(stored({ event_id: 'base' }));
    const messages = [
      // A column missing, another of the wrong type: the decoder fills them.
      JSON.stringify({ ...stored({ event_id: 'filled' }), os: 5, country: undefined }),
      // A lone surrogate (ClickHouse refuses it) and a pair, both as escapes.
      base.replace('"UA/1"', '"bad \\ud800 ua"').replace('"ios"', '"\\uDC00x"').replace('"base"', '"lone"'),
      base.replace('"UA/1"', '"\\ud83d\\ude00"').replace('"base"', '"pair"'),
      // A byte that is not UTF-8 inside a string.
      Buffer.concat([Buffer.from(base.replace('"base"', '"latin"').split('UA/1')[0]), Buffer.from([0xff]), Buffer.from(base.split('UA/1')[1])]),
      // Times with a fraction, and fields the table does not have (one nested), trailing whitespace.
      `${JSON.stringify({ ...stored({ event_id: 'odd', ts: T + 0.9, received_at: T + 1500.5 }), extra: { a: [1, { b: 2 }] }, more: 'x' })}  \n`,
    ];
    const rows = rowsFor(messages);
    await insertEventsRt(handle.client, rows, '', stagingDir());
    const got = await storedRows();
    expect(got).toEqual(rowsOf(rows));
    const byId = new Map(got.map((r) => [r.event_id, r]));
    expect(byId.get('filled')).toMatchObject({ os: '', country: '' });
    expect(byId.get('lone')).toMatchObject({ ua: 'bad \uFFFD ua', os: '\uFFFDx' });
    expect(byId.get('pair')?.ua).toBe('😀');
    expect(byId.get('latin')?.ua).toBe('\uFFFD');
    expect(byId.get('odd')).toMatchObject({ ts: '2026-11-24 10:00:00.000', received_at: '2026-11-24 10:00:01.500' });
  });

  it('writes a group again with canonical lines when ClickHouse refuses one (a field given twice), whole and once', async () => {
    const twice = JSON.stringify(stored({ event_id: 'twice' })).replace('"os":"ios"', '"os":"ios","os":"android"');
    const rows = rowsFor([JSON.stringify(stored({ event_id: 'plain' })), twice]);
    await insertEventsRt(handle.client, rows, '', stagingDir());
    const got = await storedRows();
    expect(got.map((r) => [r.event_id, r.os])).toEqual([
      ['plain', 'ios'],
      ['twice', 'android'], // the decoder keeps the last
    ]);
    expect(got).toEqual(rowsOf(rows));
  });
});
