/**
 * The file object store against a real temp directory (fast, nothing started), plus the SQL
 * rendering helpers and ClickHouse (embedded chdb) reading Arrow files through file().
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileObjectStore } from '../../infra/object-store/file-store';
import {
  createObjectStore,
  settingsSql,
  sourceSettings,
  sqlStringLiteral,
  tableFunctionSql,
} from '../../infra/object-store/object-store';
import { arrowIpcFile, objectStoreContract } from '../support/object-store-contract';

let base: string;
let n = 0;

beforeAll(async () => {
  // A quote and a space in the root exercise URL round-trips and SQL escaping end to end.
  base = await fs.mkdtemp(path.join(os.tmpdir(), "weir-file store it's-"));
});

afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

async function freshStore(): Promise<FileObjectStore> {
  return createObjectStore(pathToFileURL(path.join(base, `store-${++n}`)).href) as FileObjectStore;
}

describe('file object store: contract', () => {
  objectStoreContract({ create: freshStore, open: (url) => createObjectStore(url), atomicConditionalPut: true });
});

describe('file object store: local specifics', () => {
  it('parses absolute and cwd-relative file URLs and refuses other schemes', () => {
    expect(createObjectStore('file:///tmp/weir%20x/').url).toBe('file:///tmp/weir%20x');
    expect((createObjectStore('file:///tmp/weir%20x') as FileObjectStore).root).toBe('/tmp/weir x');
    expect(createObjectStore('file://.weir/store').url).toBe(pathToFileURL(path.resolve(process.cwd(), '.weir/store')).href);
    expect(() => createObjectStore('http://example.com/x')).toThrow(/unsupported object store URL 'http:\/\/example.com\/x'/);
    expect(() => createObjectStore('/plain/path')).toThrow(/unsupported object store URL/);
    expect(() => createObjectStore('file:relative')).toThrow(/invalid file URL/);
    expect(() => createObjectStore('s3://')).toThrow(/invalid S3 URL/);
  });

  it('leaves no temp files behind and hides in-flight ones from list', async () => {
    const store = await freshStore();
    await store.put('a/b/c', Buffer.from('x'));
    expect(await fs.readdir(path.join(store.root, 'a', 'b'))).toEqual(['c']);
    // What a put interrupted by a crash leaves: never reported as an object.
    await fs.writeFile(path.join(store.root, 'a', '.weir-tmp-999-dead'), 'partial');
    expect(await store.list('')).toEqual(['a/b/c']);
  });

  it('breaks a conditional-put lock left by a process that is gone, and leaves no lock behind', async () => {
    const store = await freshStore();
    await store.put('state/p0', Buffer.from('v1'));
    // pid_max is never a pid: the lock of a writer that crashed while holding it.
    const deadPid = (await fs.readFile('/proc/sys/kernel/pid_max', 'utf8')).trim();
    await fs.writeFile(path.join(store.root, 'state', '.weir-tmp-lock-p0'), deadPid);
    const v1 = (await store.getVersioned('state/p0'))?.version as string;
    expect((await store.putIf('state/p0', Buffer.from('v2'), { ifMatch: v1 })).ok).toBe(true);
    expect(await fs.readdir(path.join(store.root, 'state'))).toEqual(['p0']);
  });

  it('explains key collisions between an object and a prefix, cleaning up its temp file', async () => {
    const store = await freshStore();
    await store.put('x', Buffer.from('object'));
    await expect(store.put('x/y', Buffer.from('1'))).rejects.toThrow(/parent of the key is an object/);
    await store.put('p/q', Buffer.from('1'));
    await expect(store.put('p', Buffer.from('2'))).rejects.toThrow(/prefix of other objects/);
    expect(await store.get('p')).toBeUndefined();
    expect(await store.get('x/y')).toBeUndefined();
    expect(await fs.readdir(store.root)).toEqual(expect.arrayContaining(['p', 'x']));
    expect((await fs.readdir(store.root)).some((f) => f.startsWith('.weir-tmp-'))).toBe(false);
  });

  it('prunes directories left empty by delete, as S3 has none', async () => {
    const store = await freshStore();
    await store.put('d/e/f', Buffer.from('1'));
    await store.put('d/g', Buffer.from('2'));
    await store.delete('d/e/f');
    expect(await fs.readdir(path.join(store.root, 'd'))).toEqual(['g']);
    await store.delete('d/g');
    expect(await fs.readdir(store.root)).toEqual([]);
  });

  it('ping creates the root, and fails clearly when the root is not a directory', async () => {
    const store = await freshStore();
    await store.ping();
    expect((await fs.stat(store.root)).isDirectory()).toBe(true);
    const file = path.join(base, `not-a-dir-${++n}`);
    await fs.writeFile(file, 'x');
    await expect(createObjectStore(pathToFileURL(file).href).ping()).rejects.toThrow(/object store file:.* is not usable/);
  });

  it('gives ClickHouse an absolute file() path', async () => {
    const store = await freshStore();
    expect(store.clickhouseSource('events/**/*.arrow')).toEqual({
      fn: 'file',
      args: [`${store.root}/events/**/*.arrow`],
    });
    expect(sourceSettings(store.clickhouseSource('x'))).toEqual({});
  });
});

describe('SQL rendering', () => {
  it('escapes backslashes and quotes in literals', () => {
    expect(sqlStringLiteral("it's")).toBe("'it\\'s'");
    expect(sqlStringLiteral('a\\b')).toBe("'a\\\\b'");
    expect(sqlStringLiteral("\\'")).toBe("'\\\\\\''");
    expect(sqlStringLiteral('a\nb\0')).toBe("'a\\nb\\0'");
  });

  it('renders table functions and settings', () => {
    const s3 = { fn: 's3' as const, args: ['http://h:1/b/k/*.arrow', 'key', "se'cret"] };
    expect(tableFunctionSql(s3)).toBe("s3('http://h:1/b/k/*.arrow', 'key', 'se\\'cret', 'Arrow')");
    expect(tableFunctionSql({ fn: 'file', args: ['/d/*.arrow'] }, 'Parquet', 'x Int32')).toBe(
      "file('/d/*.arrow', 'Parquet', 'x Int32')",
    );
    expect(() => tableFunctionSql(s3, "Arrow') --")).toThrow(/format/);
    expect(() => tableFunctionSql({ fn: 'url' as 's3', args: [] })).toThrow(/unknown ClickHouse table function/);
    expect(settingsSql(sourceSettings(s3))).toBe('SETTINGS max_download_threads = 1');
    expect(settingsSql({})).toBe('');
    expect(settingsSql({ a: true, b: "x'y" })).toBe("SETTINGS a = 1, b = 'x\\'y'");
    expect(() => settingsSql({ 'a = 1; DROP': 1 })).toThrow(/setting name/);
  });
});

describe('ClickHouse (chdb) reads Arrow objects through file()', () => {
  let ch: ClickHouseClient;
  let chDir: string;

  beforeAll(async () => {
    // One chdb data directory per process: this file's single client (jest runs each test file
    // in its own worker process).
    chDir = await fs.mkdtemp(path.join(os.tmpdir(), 'weir-chdb-'));
    // The two packages ship separate copies of the connection types, hence the cast.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    ch = createClient({ connection: createChdbConnection({ path: chDir }) as any });
  });

  afterAll(async () => {
    await ch?.close();
    await fs.rm(chDir, { recursive: true, force: true });
  });

  it('queries a glob under a root outside any user_files directory', async () => {
    const store = await freshStore();
    await store.put('events/day=1/part-0.arrow', arrowIpcFile([1, 2, 3], ['a', 'b', 'c']));
    await store.put('events/day=2/part-0.arrow', arrowIpcFile([10, 20], ['d', "e'"]));
    await store.put('events/day=2/ignored.txt', Buffer.from('not arrow'));
    // The root contains "it's": this only parses if the path literal is escaped correctly.
    expect(store.root).toContain("'");
    // chdb 3.4.0 accepts absolute file() paths anywhere; a ClickHouse server would require the
    // root to be under its user_files_path.
    const source = store.clickhouseSource('events/*/*.arrow');
    const rs = await ch.query({
      query: `SELECT count() AS n, sum(x) AS total, max(s) AS top FROM ${tableFunctionSql(source)} ${settingsSql(sourceSettings(source))}`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ n: 5, total: 36, top: "e'" }]);
  });

  it('needs an explicit structure when the glob matches nothing', async () => {
    const store = await freshStore();
    const source = store.clickhouseSource('none/*.arrow');
    await expect(ch.query({ query: `SELECT count() FROM ${tableFunctionSql(source)}`, format: 'JSONEachRow' })).rejects.toThrow(
      /no files with provided path/,
    );
    const rs = await ch.query({
      query: `SELECT count() AS n FROM ${tableFunctionSql(source, 'Arrow', 'x Int32, s String')}`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ n: 0 }]);
  });
});
