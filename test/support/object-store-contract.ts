/**
 * The behaviour every ObjectStore must share, registered as `it(...)` cases by each backend's
 * test file, so that the file store and the S3 store are held to one definition.
 */
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import type { ObjectStore } from '../../infra/object-store/object-store';

export interface ObjectStoreHarness {
  /** A fresh, empty store (its own directory or prefix) for each test. */
  create(): Promise<ObjectStore>;
  /** Opens a store by URL the way production code would (`createObjectStore(url, env)`). */
  open(url: string): ObjectStore;
  /**
   * Whether concurrent conditional puts are atomic. AWS S3 and the file store: yes. S3Proxy
   * 4.1.0 checks the ETag and then writes, so racing writers can all win; it does refuse a
   * writer that comes after the change, which is the case a lapsed archiver member is in.
   */
  atomicConditionalPut: boolean;
}

/** Registers the contract cases; call inside a `describe`. */
export function objectStoreContract(harness: ObjectStoreHarness): void {
  it('returns undefined for a missing key', async () => {
    const store = await harness.create();
    expect(await store.get('missing')).toBeUndefined();
    expect(await store.get('missing/deeper/key.bin')).toBeUndefined();
  });

  it('round-trips binary bodies given as Buffer or Uint8Array', async () => {
    const store = await harness.create();
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await store.put('bin/all-bytes', bytes);
    await store.put('bin/buffer', Buffer.from('héllo\n'));
    // A view into a larger buffer: only the viewed bytes may be written.
    const big = Buffer.from('xxABCyy');
    await store.put('bin/view', big.subarray(2, 5));
    await store.put('bin/empty', new Uint8Array(0));
    expect(await store.get('bin/all-bytes')).toEqual(Buffer.from(bytes));
    expect((await store.get('bin/buffer'))?.toString('utf8')).toBe('héllo\n');
    expect((await store.get('bin/view'))?.toString('utf8')).toBe('ABC');
    expect(await store.get('bin/empty')).toEqual(Buffer.alloc(0));
  });

  it('overwrites an existing key, also with a shorter body', async () => {
    const store = await harness.create();
    await store.put('k', Buffer.from('a much longer first version'));
    await store.put('k', Buffer.from('v2'));
    expect((await store.get('k'))?.toString()).toBe('v2');
    expect(await store.list('')).toEqual(['k']);
  });

  it('lists keys recursively, sorted, relative to the root, by plain string prefix', async () => {
    const store = await harness.create();
    const keys = ['b/2', 'a/x/y/z.arrow', 'a/1', 'ab/1', 'a/x/2', 'day=2024-01-02/p.arrow', 'day=2024-01-10/p.arrow', 'c'];
    for (const k of keys) await store.put(k, Buffer.from(k));
    expect(await store.list('')).toEqual([...keys].sort());
    expect(await store.list('a/')).toEqual(['a/1', 'a/x/2', 'a/x/y/z.arrow']);
    // Not ending at a '/': matches 'a/…' and 'ab/…', as S3's Prefix does.
    expect(await store.list('a')).toEqual(['a/1', 'a/x/2', 'a/x/y/z.arrow', 'ab/1']);
    expect(await store.list('a/x')).toEqual(['a/x/2', 'a/x/y/z.arrow']);
    expect(await store.list('day=2024-01-0')).toEqual(['day=2024-01-02/p.arrow']);
    expect(await store.list('c')).toEqual(['c']);
    expect(await store.list('nothing/')).toEqual([]);
    expect(await store.list('a/1/')).toEqual([]);
  });

  it('sorts keys by UTF-8 byte order like S3', async () => {
    const store = await harness.create();
    // U+FF5E sorts after U+1F600 in UTF-16 code units but before it in UTF-8 bytes.
    const keys = ['u/\u{1F600}', 'u/\uFF5E', 'u/Z', 'u/a'];
    for (const k of keys) await store.put(k, Buffer.from('x'));
    expect(await store.list('u/')).toEqual(['u/Z', 'u/a', 'u/\uFF5E', 'u/\u{1F600}']);
  });

  it('lists more than one S3 page (1000 keys)', async () => {
    const store = await harness.create();
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}.bin`);
    await forEachLimit(keys, 16, (k) => store.put(k, Buffer.from(k)));
    await store.put('other/x', Buffer.from('x'));
    expect(await store.list('many/')).toEqual(keys);
    expect(await store.list('')).toHaveLength(1006);
  });

  it('deletes keys; deleting a missing key is a no-op', async () => {
    const store = await harness.create();
    await store.put('d/one/a', Buffer.from('a'));
    await store.put('d/one/b', Buffer.from('b'));
    await store.put('d/two', Buffer.from('2'));
    await store.delete('d/one/a');
    expect(await store.get('d/one/a')).toBeUndefined();
    expect(await store.list('')).toEqual(['d/one/b', 'd/two']);
    await store.delete('d/one/a');
    await store.delete('never/existed');
    await store.delete('d/one/b');
    await store.delete('d/two');
    expect(await store.list('')).toEqual([]);
    // A key can be reused after deletion, also where directories were pruned.
    await store.put('d/one/a', Buffer.from('again'));
    expect((await store.get('d/one/a'))?.toString()).toBe('again');
  });

  it('renames an object, replacing the target; a missing source is an error', async () => {
    const store = await harness.create();
    await store.put('mv/from', Buffer.from('new'));
    await store.put('mv/dir/to', Buffer.from('old'));
    await store.rename('mv/from', 'mv/dir/to');
    expect((await store.get('mv/dir/to'))?.toString()).toBe('new');
    expect(await store.get('mv/from')).toBeUndefined();
    await expect(store.rename('mv/missing', 'mv/x')).rejects.toThrow();
    expect(await store.get('mv/x')).toBeUndefined();
  });

  it('never shows a partial object to a concurrent reader', async () => {
    const store = await harness.create();
    const size = 2 * 1024 * 1024;
    const bodies = [Buffer.alloc(size, 0x61), Buffer.alloc(size, 0x62)];
    await store.put('atomic', bodies[0]);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 8; i++) await store.put('atomic', bodies[i % 2]);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const got = await store.get('atomic');
      reads++;
      expect(got).toBeDefined();
      expect(got!.length).toBe(size);
      expect(got!.equals(bodies[0]) || got!.equals(bodies[1])).toBe(true);
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
    expect(await store.list('')).toEqual(['atomic']);
  });

  it('puts conditionally: only while absent (ifNoneMatch) or still at the version read (ifMatch)', async () => {
    const store = await harness.create();
    const first = await store.putIf('state/p0', Buffer.from('v1'), { ifNoneMatch: true });
    expect(first.ok).toBe(true);
    const read = await store.getVersioned('state/p0');
    expect(read?.body.toString()).toBe('v1');
    expect(first.ok && first.version).toBe(read?.version);
    expect(await store.putIf('state/p0', Buffer.from('other'), { ifNoneMatch: true })).toEqual({ ok: false });

    const second = await store.putIf('state/p0', Buffer.from('v2'), { ifMatch: read?.version as string });
    expect(second.ok).toBe(true);
    // A writer still holding the first version (a lapsed member) cannot overwrite v2.
    expect(await store.putIf('state/p0', Buffer.from('stale'), { ifMatch: read?.version as string })).toEqual({ ok: false });
    expect((await store.get('state/p0'))?.toString()).toBe('v2');
    expect((await store.getVersioned('state/p0'))?.version).toBe(second.ok && second.version);

    await store.delete('state/p0');
    expect(await store.putIf('state/p0', Buffer.from('v3'), { ifMatch: second.ok ? second.version : '' })).toEqual({ ok: false });
    expect(await store.get('state/p0')).toBeUndefined();
    expect(await store.getVersioned('state/none')).toBeUndefined();
    expect(await store.list('')).toEqual([]);
  });

  (harness.atomicConditionalPut ? it : it.skip)('lets exactly one of several racing conditional writers win', async () => {
    const store = await harness.create();
    await store.put('race', Buffer.from('start'));
    const base = (await store.getVersioned('race'))?.version as string;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.putIf('race', Buffer.from(`writer ${i}`), { ifMatch: base })),
    );
    const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
    expect(winners).toHaveLength(1);
    expect((await store.get('race'))?.toString()).toBe(`writer ${winners[0]}`);
    expect(await store.list('')).toEqual(['race']);
  });

  it('rejects keys the backends would not treat alike', async () => {
    const store = await harness.create();
    for (const bad of ['', '/abs', 'a//b', 'a/', './a', 'a/../b', '..', 'a\\b', 'a\nb']) {
      await expect(store.put(bad, Buffer.from('x'))).rejects.toThrow(/key/);
      await expect(store.get(bad)).rejects.toThrow(/key/);
    }
    await expect(store.list('/a')).rejects.toThrow(/prefix/);
    await expect(store.list('a//')).rejects.toThrow(/prefix/);
  });

  it('reopens the same objects from its url', async () => {
    const store = await harness.create();
    await store.put('re/open', Buffer.from('same'));
    const again = harness.open(store.url);
    expect(again.url).toBe(store.url);
    expect((await again.get('re/open'))?.toString()).toBe('same');
    expect(await again.list('')).toEqual(['re/open']);
  });

  it('pings', async () => {
    const store = await harness.create();
    await expect(store.ping()).resolves.toBeUndefined();
  });
}

/** An uncompressed Arrow IPC file: apache-arrow 21.2.0's compressed IPC is unreadable by ClickHouse. */
export function arrowIpcFile(x: number[], s: string[]): Uint8Array {
  const table = tableFromArrays({ x: Int32Array.from(x), s });
  return tableToIPC(table, 'file', null);
}

export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
