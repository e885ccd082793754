/**
 * Byte order of UTF-8 strings, as DESIGN.md uses for event_id ties and row order (and as
 * ClickHouse compares String values). JavaScript's `<` compares UTF-16 code units, which
 * disagrees with UTF-8 byte order once surrogate pairs meet characters U+E000–U+FFFF, and
 * `localeCompare` follows a locale: neither is used here.
 */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  const ca = a.charCodeAt(i);
  const cb = b.charCodeAt(i);
  // Below the surrogate range, UTF-16 unit order is code point order is UTF-8 byte order.
  if (ca < 0xd800 && cb < 0xd800) return ca - cb;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Compares tuples of strings element by element in byte order. */
export function compareByteTuples(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const c = compareBytes(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
