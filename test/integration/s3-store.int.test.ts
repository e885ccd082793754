/**
 * The S3 object store against a real S3-compatible server (S3Proxy, started here), held to the
 * same contract as the file store, plus ClickHouse (embedded chdb) reading Arrow objects
 * through s3().
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createObjectStore,
  settingsSql,
  sourceSettings,
  tableFunctionSql,
  type ObjectStore,
  type ObjectStoreEnv,
} from '../../infra/object-store/object-store';
import { S3ObjectStore } from '../../infra/object-store/s3-store';
import { startS3Proxy, type S3ProxyHandle } from '../../infra/object-store/s3proxy';
import { arrowIpcFile, objectStoreContract } from '../support/object-store-contract';

const REPO = path.resolve(__dirname, '../..');
const BUCKET = 'weir-test';

let proxy: S3ProxyHandle;
let env: ObjectStoreEnv;
let tmp: string;
let n = 0;
const opened: S3ObjectStore[] = [];

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weir-s3-store-'));
  proxy = await startS3Proxy({ cacheDir: path.join(REPO, '.cache'), dataDir: path.join(tmp, 's3') });
  env = { endpoint: proxy.endpoint, accessKeyId: proxy.accessKey, secretAccessKey: proxy.secretKey };
  await open(`s3://${BUCKET}`).ensureBucket();
}, 180_000); // a first run downloads the 42 MB jar

afterAll(async () => {
  for (const store of opened) store.close();
  await proxy?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** Tracks clients so that afterAll can close their sockets. */
function open(url: string, overrides: ObjectStoreEnv = {}): S3ObjectStore {
  const store = createObjectStore(url, { ...env, ...overrides }) as S3ObjectStore;
  opened.push(store);
  return store;
}

describe('S3 object store: contract', () => {
  // S3Proxy checks a put's condition and then writes, not atomically (see atomicConditionalPut).
  objectStoreContract({ create: async () => open(`s3://${BUCKET}/run-${++n}`), open: (url) => open(url), atomicConditionalPut: false });
});

describe('S3 object store: S3 specifics', () => {
  it('works at the bucket root, with no prefix', async () => {
    const store = open('s3://weir-root');
    await store.ensureBucket();
    await store.put('top', Buffer.from('1'));
    await store.put('nested/key', Buffer.from('2'));
    expect(store.url).toBe('s3://weir-root');
    expect(await store.list('')).toEqual(['nested/key', 'top']);
  });

  it('does not leak keys of a sibling prefix sharing the same leading characters', async () => {
    await open(`s3://${BUCKET}/shared-x`).put('k', Buffer.from('x'));
    const store = open(`s3://${BUCKET}/shared`);
    await store.put('k', Buffer.from('1'));
    expect(await store.list('')).toEqual(['k']);
  });

  it('keeps the same key layout as the file store', async () => {
    const keys = ['events/day=1/part-0.arrow', 'events/day=2/part-0.arrow', 'z'];
    const s3 = open(`s3://${BUCKET}/layout`);
    const file = createObjectStore(pathToFileURL(path.join(tmp, 'layout')).href);
    for (const k of keys) {
      await s3.put(k, Buffer.from(k));
      await file.put(k, Buffer.from(k));
    }
    expect(await s3.list('events/')).toEqual(await file.list('events/'));
    // And on S3Proxy's filesystem backend the bucket is that same tree on disk.
    const onDisk = createObjectStore(pathToFileURL(path.join(tmp, 's3', BUCKET, 'layout')).href);
    expect(await onDisk.list('')).toEqual(keys);
  });

  it('ping explains a wrong secret, a missing bucket and a dead endpoint', async () => {
    await expect(open(`s3://${BUCKET}`, { secretAccessKey: 'wrong' }).ping()).rejects.toThrow(/access denied/);
    await expect(open('s3://no-such-bucket').ping()).rejects.toThrow(/s3:\/\/no-such-bucket .* bucket does not exist/);
    await expect(open(`s3://${BUCKET}`, { endpoint: 'http://127.0.0.1:1' }).ping()).rejects.toThrow(
      /not usable: connection refused/,
    );
  });

  it('builds a path-style s3() URL with the credentials', () => {
    const source = open(`s3://${BUCKET}/data`).clickhouseSource('events/*.arrow');
    expect(source).toEqual({
      fn: 's3',
      args: [`${proxy.endpoint}/${BUCKET}/data/events/*.arrow`, proxy.accessKey, proxy.secretKey],
    });
    expect(sourceSettings(source)).toEqual({ max_download_threads: 1 });
    expect(() => open(`s3://${BUCKET}`).clickhouseSource('has space/*.arrow')).toThrow(/whitespace/);
  });
});

describe('ClickHouse (chdb) reads Arrow objects through s3()', () => {
  let ch: ClickHouseClient;
  let store: ObjectStore;

  beforeAll(async () => {
    // One chdb data directory per process, so one client for this whole file.
    // The two packages ship separate copies of the connection types, hence the cast.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    ch = createClient({ connection: createChdbConnection({ path: path.join(tmp, 'chdb') }) as any });
    store = open(`s3://${BUCKET}/clickhouse`);
    await store.put('events/day=1/part-0.arrow', arrowIpcFile([1, 2, 3], ['a', 'b', 'c']));
    await store.put('events/day=2/part-0.arrow', arrowIpcFile([10, 20], ['d', "e'"]));
    await store.put('events/day=2/ignored.txt', Buffer.from('not arrow'));
  });

  afterAll(async () => {
    await ch?.close();
  });

  async function countAndSum(glob: string): Promise<unknown> {
    const source = store.clickhouseSource(glob);
    // max_download_threads = 1 in the query's own SETTINGS: without it s3() stalls in 10 s
    // steps against S3Proxy, and clickhouse_settings would leak into later statements on chdb.
    const rs = await ch.query({
      query: `SELECT count() AS n, sum(x) AS total FROM ${tableFunctionSql(source)} ${settingsSql(sourceSettings(source))}`,
      format: 'JSONEachRow',
    });
    return rs.json();
  }

  it('reads one object', async () => {
    expect(await countAndSum('events/day=1/part-0.arrow')).toEqual([{ n: 3, total: 6 }]);
  });

  it('reads a glob across prefixes, skipping non-matching objects', async () => {
    const t0 = Date.now();
    expect(await countAndSum('events/*/*.arrow')).toEqual([{ n: 5, total: 36 }]);
    expect(await countAndSum('events/**/*.arrow')).toEqual([{ n: 5, total: 36 }]);
    // Guards the max_download_threads setting: the stall it prevents costs 10 s per step.
    expect(Date.now() - t0).toBeLessThan(8_000);
  });
});
