/**
 * Error fingerprint (DESIGN.md section 3): first 16 hex digits of SHA-1 over
 * `error_type + "\n" + normalised message`. Every expectation below is a normalised message
 * written out by hand (runs of 8+ hex digits first, case-insensitive, then runs of ASCII
 * digits, each by `#`; trim; first 512 characters), hashed here with node:crypto.
 */
import { createHash } from 'node:crypto';
import { errorFingerprint } from '../../schemas/fingerprint';

const expected = (errorType: string, normalised: string) =>
  createHash('sha1').update(`${errorType}\n${normalised}`, 'utf8').digest('hex').slice(0, 16);

describe('errorFingerprint', () => {
  it('matches a value computed outside the code (printf ... | sha1sum)', () => {
    // printf 'TypeError\nUser # failed at #x# id=#' | sha1sum → 6118c5252f084e2b7e84…
    expect(errorFingerprint('TypeError', 'User 12345 failed at 0xDEADBEEF00 id=abcdef0123')).toBe('6118c5252f084e2b');
  });

  it('is 16 lowercase hex digits', () => {
    expect(errorFingerprint('E', 'anything')).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([
    // "0" alone is a digit run; "DEADBEEF00" is a 10-hex-digit run; "12345" a digit run.
    ['User 12345 failed at 0xDEADBEEF00 id=abcdef0123', 'User # failed at #x# id=#'],
    // 8 hex letters and no digit at all: still a hex run.
    ['token deadbeef expired', 'token # expired'],
    // Case-insensitive, mixed case.
    ['token DeAdBeEf expired', 'token # expired'],
    // 7 hex digits are no hex run; their digits form a digit run.
    ['code cafe123 here', 'code cafe# here'],
    // Exactly 8: hex run.
    ['code cafe1234 here', 'code # here'],
    // Ordinary words made of hex letters: 7 letters stay, 8+ become '#'.
    ['defaced accededfaced', 'defaced #'],
    // The hex run absorbs digits and letters around it: one '#', not several.
    ['id abc12345678def end', 'id # end'],
    // A short hex-looking run with digits: digits replaced, letters kept.
    ['ptr 0x1f', 'ptr #x#f'],
    // Digit runs of any length, including a single digit and long numbers.
    ['x1y22z333 9999999', 'x#y#z# #'],
    // …but "a1b22c333" is nine hex digits in a row: one hex run.
    ['a1b22c333 9999999', '# #'],
    // 12345678 is 8 hex digits: '#' either way, once.
    ['n=12345678', 'n=#'],
    // Non-ASCII digits are not ASCII digits: kept.
    ['count ١٢٣ ４２', 'count ١٢٣ ４２'],
    // 'g' is not a hex digit: splits the run.
    ['abcdefgabcdefg', 'abcdefgabcdefg'],
    // UUID: groups of 8 / 4 / 4 / 4 / 12 hex digits.
    ['order 123e4567-e89b-12d3-a456-426614174000 lost', 'order #-e#b-#d#-a#-# lost'],
    // Timestamp-ish message.
    ['at 2026-11-24T14:03:05.123Z', 'at #-#-#T#:#:#.#Z'],
  ])('normalises %j to %j', (message, normalised) => {
    expect(errorFingerprint('Error', message)).toBe(expected('Error', normalised));
  });

  it('trims white space around the normalised message', () => {
    expect(errorFingerprint('E', '  \t boom 42 \n')).toBe(expected('E', 'boom #'));
    expect(errorFingerprint('E', 'boom #')).toBe(errorFingerprint('E', '\nboom 7\r\n'));
  });

  it('keeps inner white space as it is', () => {
    expect(errorFingerprint('E', 'a  b\tc')).toBe(expected('E', 'a  b\tc'));
    expect(errorFingerprint('E', 'a  b')).not.toBe(errorFingerprint('E', 'a b'));
  });

  it('maps messages differing only in numbers and ids to one fingerprint', () => {
    const a = errorFingerprint('NetworkError', 'timeout after 3000 ms to 10.0.0.7 req=9f86d081884c7d65');
    const b = errorFingerprint('NetworkError', 'timeout after 15 ms to 192.168.1.200 req=A665A45920422F9D');
    expect(a).toBe(b);
    expect(a).toBe(expected('NetworkError', 'timeout after # ms to #.#.#.# req=#'));
  });

  it('keeps the first 512 characters of the normalised message', () => {
    expect(errorFingerprint('E', 'x'.repeat(600))).toBe(expected('E', 'x'.repeat(512)));
    expect(errorFingerprint('E', 'x'.repeat(512))).toBe(errorFingerprint('E', 'x'.repeat(512) + 'anything after'));
    expect(errorFingerprint('E', 'x'.repeat(511) + 'a')).not.toBe(errorFingerprint('E', 'x'.repeat(511) + 'b'));
  });

  it('cuts after normalising: long numbers shrink to # first', () => {
    // 600 digits → '#': nothing to cut.
    expect(errorFingerprint('E', '1'.repeat(600))).toBe(expected('E', '#'));
    // "9 " × 300 → "# " × 300, trimmed to 599 characters, cut to 512 ("# " × 256, ending in a space).
    expect(errorFingerprint('E', '9 '.repeat(300))).toBe(expected('E', '# '.repeat(256)));
  });

  it('trims before cutting: leading white space does not use up the 512 characters', () => {
    expect(errorFingerprint('E', ' '.repeat(100) + 'y'.repeat(512) + 'z')).toBe(expected('E', 'y'.repeat(512)));
  });

  it('counts characters as code points, never splitting a surrogate pair', () => {
    expect(errorFingerprint('E', '😀'.repeat(600))).toBe(expected('E', '😀'.repeat(512)));
  });

  it('hashes the UTF-8 bytes', () => {
    const bytes = Buffer.from('E\nÜnïcödé fehler', 'utf8');
    expect(errorFingerprint('E', 'Ünïcödé fehler')).toBe(createHash('sha1').update(bytes).digest('hex').slice(0, 16));
  });

  it('includes the error type, separated by a newline, unnormalised', () => {
    expect(errorFingerprint('TypeError', 'x')).not.toBe(errorFingerprint('RangeError', 'x'));
    expect(errorFingerprint('Error42', 'x')).toBe(expected('Error42', 'x'));
    expect(errorFingerprint('Error42', 'x')).not.toBe(errorFingerprint('Error7', 'x'));
  });

  it('handles an empty or blank message', () => {
    // printf 'E\n' | sha1sum → 7acd6a2b3fe3c5ec…
    expect(errorFingerprint('E', '')).toBe('7acd6a2b3fe3c5ec');
    expect(errorFingerprint('E', '   \n\t ')).toBe('7acd6a2b3fe3c5ec');
  });
});
