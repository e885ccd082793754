/**
 * Object storage for the master dataset: one interface over a local directory (`file://`) and
 * an S3 bucket (`s3://`), with the same key layout in both, so that the batch layer and
 * ClickHouse see identical paths whichever backend runs.
 *
 * Keys are '/'-separated, relative to the store root, and validated up front (see
 * `assertValidKey`) because a key that works on S3 but not on a filesystem (or the reverse)
 * would make the two backends silently diverge.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileObjectStore } from './file-store';
import { S3ObjectStore } from './s3-store';

export interface ObjectStore {
  /** `file:///abs/dir` or `s3://bucket/prefix` (canonical form; `createObjectStore(url)` reopens it). */
  readonly url: string;
  /** Atomic: readers see the old object or the whole new one, never a partial object. */
  put(key: string, body: Uint8Array | Buffer): Promise<void>;
  /** `undefined` when the key does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** The body with its current version, for a later `putIf`; `undefined` when the key does not exist. */
  getVersioned(key: string): Promise<VersionedObject | undefined>;
  /**
   * Compare-and-set: writes (atomically, as `put`) only if the object is still at the version
   * read (`ifMatch`), or still absent (`ifNoneMatch`). A lost race or a changed/deleted object
   * is a `conflict`, never an overwrite: a writer that lost its claim on a key (a lapsed
   * consumer-group member) cannot replace what the new owner wrote.
   */
  putIf(key: string, body: Uint8Array | Buffer, condition: PutCondition): Promise<PutIfResult>;
  /**
   * Keys (relative to the store root) starting with `prefix` — a plain string prefix as in S3,
   * not necessarily ending at a '/' — recursive, sorted by UTF-8 byte order (S3's order).
   */
  list(prefix: string): Promise<string[]>;
  /** Deleting a missing key is not an error (S3 semantics). */
  delete(key: string): Promise<void>;
  /**
   * Moves an object written by someone else (ClickHouse, through `clickhouseSource`) to `to`,
   * durably; readers of `to` see the old object or the whole new one. Throws when `from` is
   * missing.
   */
  rename(from: string, to: string): Promise<void>;
  /** How ClickHouse reads objects matching `globKey` (ClickHouse glob syntax: `*`, `**`, `{a,b}`). */
  clickhouseSource(globKey: string): ClickHouseSource;
  /** Throws an error naming the store and the cause when the store cannot be used. */
  ping(): Promise<void>;
}

/**
 * An opaque version of an object: the S3 ETag, or the same MD5 of the body in the file store.
 * Like an ETag it follows the content, so rewriting identical bytes keeps the version; callers
 * whose bodies never repeat (the archiver's state advances) get a strict compare-and-set.
 */
export interface VersionedObject {
  body: Buffer;
  version: string;
}

export type PutCondition = { ifMatch: string } | { ifNoneMatch: true };

export type PutIfResult = { ok: true; version: string } | { ok: false };

/** The arguments of a ClickHouse table function, without the format (see `tableFunctionSql`). */
export interface ClickHouseSource {
  fn: 'file' | 's3';
  args: string[];
}

export interface ObjectStoreEnv {
  /** S3 endpoint, e.g. `http://127.0.0.1:9000`; when set, path-style addressing is used. */
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/**
 * Settings a query must carry in its own `SETTINGS` clause when it reads through the table
 * function. ClickHouse's s3() stalls in 10 s steps against S3Proxy unless
 * `max_download_threads = 1` (FIELD-NOTES). Put them in the SQL, not in `clickhouse_settings`,
 * because on chdb the latter become a `SET` that leaks into later statements.
 */
export const CLICKHOUSE_SOURCE_SETTINGS: Readonly<Record<ClickHouseSource['fn'], Readonly<Record<string, number>>>> =
  Object.freeze({
    file: Object.freeze({}),
    s3: Object.freeze({ max_download_threads: 1 }),
  });

export function sourceSettings(source: ClickHouseSource): Record<string, number> {
  return { ...CLICKHOUSE_SOURCE_SETTINGS[source.fn] };
}

/**
 * A ClickHouse string literal. Table function arguments cannot be query parameters, so paths,
 * URLs and credentials have to be spliced into the SQL text: escape backslash first, then the
 * quote, and control characters so that a literal never spans or ends a statement by surprise.
 */
export function sqlStringLiteral(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/\0/g, '\\0')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `'${escaped}'`;
}

const FORMAT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Renders e.g. `s3('http://127.0.0.1:9000/bucket/data/*.arrow', 'key', 'secret', 'Arrow')`.
 * `structure` (e.g. `'x Int32, s String'`) is needed when the glob may match no object: without
 * it ClickHouse fails with "The table structure cannot be extracted … no files with provided path".
 * The result may contain credentials: do not log it.
 */
export function tableFunctionSql(source: ClickHouseSource, format = 'Arrow', structure?: string): string {
  if (source.fn !== 'file' && source.fn !== 's3') throw new Error(`unknown ClickHouse table function '${String(source.fn)}'`);
  if (!FORMAT_NAME.test(format)) throw new Error(`invalid ClickHouse format name '${format}'`);
  const args = [...source.args, format];
  if (structure !== undefined) args.push(structure);
  return `${source.fn}(${args.map(sqlStringLiteral).join(', ')})`;
}

/** `SETTINGS a = 1, b = 'x'`, or '' when there is nothing to set. */
export function settingsSql(settings: Readonly<Record<string, string | number | boolean>>): string {
  const parts = Object.entries(settings).map(([name, value]) => {
    if (!SETTING_NAME.test(name)) throw new Error(`invalid ClickHouse setting name '${name}'`);
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`setting ${name} must be finite, got ${value}`);
      return `${name} = ${value}`;
    }
    if (typeof value === 'boolean') return `${name} = ${value ? 1 : 0}`;
    return `${name} = ${sqlStringLiteral(value)}`;
  });
  return parts.length === 0 ? '' : `SETTINGS ${parts.join(', ')}`;
}

/**
 * Rejects keys that the two backends would treat differently: empty or '.'/'..' segments
 * (a filesystem collapses them, S3 does not), a leading or trailing '/', backslashes and control
 * characters, and the file store's temp-file prefix.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new Error('object key must be a non-empty string');
  assertValidPath(key, 'key');
  if (key.endsWith('/')) throw new Error(`invalid object key '${key}': must not end with '/'`);
}

/** A list prefix: '' (everything) or a key-like path that may end with '/'. */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new Error('list prefix must be a string');
  if (prefix === '') return;
  assertValidPath(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
}

/** Temp files of in-flight file-store writes start with this; keys may not, so list() can skip them. */
export const TEMP_PREFIX = '.weir-tmp-';

function assertValidPath(value: string, what: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(value)) throw new Error(`invalid object ${what} '${value}': backslash or control character`);
  if (value.startsWith('/')) throw new Error(`invalid object ${what} '${value}': must be relative (no leading '/')`);
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new Error(`invalid object ${what} '${value}': empty, '.' or '..' path segment`);
    }
    if (segment.startsWith(TEMP_PREFIX)) throw new Error(`invalid object ${what} '${value}': '${TEMP_PREFIX}' is reserved`);
  }
  if (Buffer.byteLength(value, 'utf8') > 1024) throw new Error(`invalid object ${what}: longer than S3's 1024 bytes`);
}

/** S3 orders keys by UTF-8 bytes; JS's default sort uses UTF-16 units, which differs above U+FFFF. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * `file:///abs/dir` (percent-decoded like any file URL), `file://relative/dir` (resolved
 * against the current directory) or `s3://bucket[/prefix]`.
 */
export function createObjectStore(url: string, env: ObjectStoreEnv = {}): ObjectStore {
  if (typeof url !== 'string' || url.length === 0) throw new Error('object store URL is empty');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file') return new FileObjectStore(parseFileUrl(url));
  if (scheme === 's3') {
    const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
    if (!m) throw new Error(`invalid S3 URL '${url}': expected s3://bucket/prefix`);
    return new S3ObjectStore({ bucket: m[1], prefix: m[2] ?? '', ...env });
  }
  throw new Error(
    `unsupported object store URL '${url}': expected file:///abs/dir, file://relative/dir or s3://bucket/prefix`,
  );
}

function parseFileUrl(url: string): string {
  if (!/^file:\/\//i.test(url)) throw new Error(`invalid file URL '${url}': expected file:///abs/dir or file://relative/dir`);
  const rest = url.slice('file://'.length);
  if (rest.startsWith('/')) return path.resolve(fileURLToPath(`file://${rest}`));
  if (rest === '') throw new Error(`invalid file URL '${url}': no path`);
  // Not a valid URL host, but convenient for configs: `file://.weir/store`. Decoded the same
  // way as the absolute form so that a directory named with '%' round-trips through `url`.
  return path.resolve(process.cwd(), decodeURIComponent(rest));
}
