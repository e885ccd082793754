import { decodeStoredEvent, filledByDecode } from '../../schemas/decode-stored-event';
import { STORED_COLUMNS, type StoredEvent } from '../../schemas/event';

const full = Object.fromEntries(STORED_COLUMNS.map((c) => [c.name, c.kind === 'string' || c.kind === 'dict' ? `${c.name}-v` : 7])) as unknown as StoredEvent;
const decode = (o: unknown) => decodeStoredEvent(Buffer.from(JSON.stringify(o)));

it("keeps a collector's event as it is", () => {
  const e = decode(full) as StoredEvent;
  expect(e).toEqual(full);
  expect(filledByDecode(e)).toBe(false);
});

it.each(STORED_COLUMNS.filter((c) => !['event_id', 'app_id', 'ts'].includes(c.name)).map((c) => c.name))('fills %s when it is missing or of the wrong type', (name) => {
  const want = typeof (full as unknown as Record<string, unknown>)[name] === 'string' ? '' : 0;
  const { [name]: _, ...without } = full as unknown as Record<string, unknown>;
  for (const o of [without, { ...full, [name]: want === '' ? 5 : '5' }]) {
    const e = decode(o) as StoredEvent;
    expect((e as unknown as Record<string, unknown>)[name]).toBe(want);
    expect(filledByDecode(e)).toBe(true);
  }
});

it('refuses what is not a stored event', () => {
  expect(decodeStoredEvent(null)).toBe('empty message');
  expect(decodeStoredEvent(Buffer.from('{'))).toBe('message is not JSON');
  expect(decode({ ...full, ts: '1' })).toBe('message is not a stored event');
  expect(decode([full])).toBe('message is not a stored event');
});
