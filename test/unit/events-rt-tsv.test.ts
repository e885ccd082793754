/** The TabSeparated body of events_rt rows: escapes, and the batches it must leave to JSONEachRow. */
import { EVENTS_RT_COLUMNS, eventsRtTsv } from '../../speed-layer/events-rt-tsv';
import type { EventRtRow } from '../../speed-layer/partition-processor';

const row = (over: Partial<EventRtRow> = {}): EventRtRow => ({
  app_id: 'a', event_id: 'e1', ts: '2026-11-24 10:00:00.000', received_at: '2026-11-24 10:00:01.000', device_id: 'd1', type: 'error',
  name: '', country: 'US', os: 'ios', app_version: '1.0', currency: '', error_type: 'Crash', error_message: 'boom', fingerprint: 'f',
  channel: '', campaign_id: '', fraud_reason: '', install_kind: '', revenue_micros: 0, ip: '1.2.3.4', ua: 'UA', kafka_partition: 3, kafka_offset: 42,
  ...over,
});

describe('eventsRtTsv', () => {
  it('writes one line per row, the columns in order and the flush group last', () => {
    const body = eventsRtTsv([row(), row({ event_id: 'e2', kafka_offset: 43 })], 'g1')!;
    const lines = body.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const fields = lines[0].split('\t');
    expect(fields).toHaveLength(EVENTS_RT_COLUMNS.length + 1);
    expect(fields[EVENTS_RT_COLUMNS.indexOf('event_id')]).toBe('e1');
    expect(fields.slice(-3)).toEqual(['3', '42', 'g1']);
    expect(lines[1].split('\t')[1]).toBe('e2');
  });

  it('escapes tabs, newlines, carriage returns and backslashes, and keeps surrogate pairs', () => {
    const body = eventsRtTsv([row({ error_message: 'a\tb\nc\rd\\e', ua: 'Mozilla 😀 é' })], '')!;
    const fields = body.slice(0, -1).split('\t');
    expect(fields[EVENTS_RT_COLUMNS.indexOf('error_message')]).toBe('a\\tb\\nc\\rd\\\\e');
    expect(fields[EVENTS_RT_COLUMNS.indexOf('ua')]).toBe('Mozilla 😀 é');
  });

  it('leaves a batch with a lone surrogate or an unsafe integer to JSONEachRow', () => {
    expect(eventsRtTsv([row(), row({ ua: 'bad \uD800 ua' })], '')).toBeUndefined();
    expect(eventsRtTsv([row({ revenue_micros: 2 ** 60 })], '')).toBeUndefined();
  });
});
