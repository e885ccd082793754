/**
 * Object store in an S3 bucket (AWS or an S3-compatible server such as S3Proxy): key `a/b`
 * is the object `<prefix>/a/b`, the same layout as the file store's directory tree.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {
  assertValidKey,
  assertValidPrefix,
  compareKeys,
  type ClickHouseSource,
  type ObjectStore,
  type ObjectStoreEnv,
  type PutCondition,
  type PutIfResult,
  type VersionedObject,
} from './object-store';

export interface S3ObjectStoreOptions extends ObjectStoreEnv {
  bucket: string;
  /** Root of the store inside the bucket; leading and trailing '/' are ignored. */
  prefix?: string;
  /** How long ping() waits before declaring the endpoint unreachable. */
  pingTimeoutMs?: number;
}

const DEFAULT_REGION = 'us-east-1';

export class S3ObjectStore implements ObjectStore {
  readonly url: string;
  readonly bucket: string;
  /** '' or the root prefix without a trailing '/'. */
  readonly prefix: string;
  readonly client: S3Client;
  private readonly options: S3ObjectStoreOptions;

  constructor(options: S3ObjectStoreOptions) {
    this.options = options;
    this.bucket = options.bucket;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(this.bucket)) {
      throw new Error(`invalid S3 bucket name '${this.bucket}': 3-63 lowercase letters, digits, '.' or '-'`);
    }
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix !== '') assertValidKey(this.prefix);
    this.url = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.client = new S3Client(s3ClientConfig(options));
  }

  async put(key: string, body: Uint8Array | Buffer): Promise<void> {
    assertValidKey(key);
    // A single PutObject is atomic on S3: the object appears whole or not at all.
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: body, ContentLength: body.byteLength }),
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.getVersioned(key))?.body;
  }

  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      const bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), version: res.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async putIf(key: string, body: Uint8Array | Buffer, condition: PutCondition): Promise<PutIfResult> {
    assertValidKey(key);
    // S3's conditional writes (AWS since 2024): 412 when the condition fails, 409 when a
    // concurrent conditional write won the race, 404 when an If-Match target is gone.
    const cond = 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: '*' };
    try {
      const res = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: body, ContentLength: body.byteLength, ...cond }),
      );
      return { ok: true, version: res.ETag ?? '' };
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409 || isNotFound(err)) return { ok: false };
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const root = this.prefix ? `${this.prefix}/` : '';
    const keys: string[] = [];
    let token: string | undefined;
    // ListObjectsV2 returns at most 1000 keys per page, whatever MaxKeys says.
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: root + prefix, ContinuationToken: token }),
      );
      for (const obj of res.Contents ?? []) {
        if (obj.Key !== undefined && obj.Key.startsWith(root)) keys.push(obj.Key.slice(root.length));
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      if (res.IsTruncated && !token) throw new Error(`S3 list of ${this.url}/${prefix} truncated without a continuation token`);
    } while (token);
    return keys.sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
  }

  async rename(from: string, to: string): Promise<void> {
    assertValidKey(from);
    assertValidKey(to);
    // CopyObject makes the target appear whole (objects here are far below its 5 GB limit).
    const source = `${this.bucket}/${this.fullKey(from).split('/').map(encodeURIComponent).join('/')}`;
    await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.fullKey(to), CopySource: source }));
    await this.delete(from);
  }

  clickhouseSource(globKey: string): ClickHouseSource {
    if (globKey.startsWith('/')) throw new Error(`glob key must be relative to the store root, got '${globKey}'`);
    const key = this.fullKey(globKey);
    // ClickHouse parses this as a URL and does not percent-encode for us; refuse characters that
    // would change its meaning rather than produce a URL naming some other object.
    if (/[\s%#]/.test(key)) throw new Error(`S3 key '${key}' contains whitespace, '%' or '#': not usable in a ClickHouse s3() URL`);
    const endpoint = this.options.endpoint?.replace(/\/+$/, '');
    const url = endpoint
      ? `${endpoint}/${this.bucket}/${key}` // path style, as the client uses with an endpoint
      : `https://${this.bucket}.s3.${this.options.region ?? DEFAULT_REGION}.amazonaws.com/${key}`;
    const { accessKeyId, secretAccessKey } = this.options;
    // Without explicit credentials ClickHouse falls back to its own configuration.
    return { fn: 's3', args: accessKeyId && secretAccessKey ? [url, accessKeyId, secretAccessKey] : [url] };
  }

  async ping(): Promise<void> {
    const where = `${this.url}${this.options.endpoint ? ` at ${this.options.endpoint}` : ''}`;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: AbortSignal.timeout(this.options.pingTimeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new Error(`object store ${where} is not usable: ${describeS3Error(err)}`, { cause: err });
    }
  }

  /** Creates the bucket unless it exists (for local S3-compatible servers and tests). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // Another process created it in between.
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    }
  }

  /** Closes the client's sockets, so that a test or CLI process can exit promptly. */
  close(): void {
    this.client.destroy();
  }

  private fullKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }
}

function s3ClientConfig(options: ObjectStoreEnv): S3ClientConfig {
  const config: S3ClientConfig = {
    region: options.region ?? DEFAULT_REGION,
    // Fail fast on a dead endpoint instead of hanging on the OS connect timeout.
    requestHandler: { connectionTimeout: 5_000 },
  };
  if (options.accessKeyId && options.secretAccessKey) {
    config.credentials = { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey };
  }
  if (options.endpoint) {
    config.endpoint = options.endpoint;
    // S3-compatible servers (S3Proxy, MinIO) serve buckets by path, not by virtual host, and
    // reject or mishandle the SDK's default CRC trailers (FIELD-NOTES).
    config.forcePathStyle = true;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return config;
}

/** A missing object (or, for HeadBucket, bucket) — but a missing bucket on GetObject is a misconfiguration. */
function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (e?.name === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function describeS3Error(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  // Network errors arrive either as the Node error or, when it fails an `instanceof Error`
  // check (e.g. across jest's module sandboxes), inside an "AWS SDK error wrapper": look at
  // codes and messages along the whole cause chain.
  const chain = causeChain(err);
  const mentions = (code: string) => chain.some((c) => c.code === code || c.name === code || (c.message ?? '').includes(code));
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'no answer in time (endpoint down or unreachable?)';
  if (mentions('ECONNREFUSED')) return 'connection refused (is the S3 server running?)';
  if (mentions('ENOTFOUND') || mentions('EAI_AGAIN')) return 'endpoint host not found';
  if (status === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchBucket') return 'bucket does not exist';
  if (status === 403) return 'access denied (check the access key and secret)';
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
}

function causeChain(err: unknown): { name?: string; code?: string; message?: string }[] {
  const out: { name?: string; code?: string; message?: string }[] = [];
  for (let c = err as { cause?: unknown } | undefined; c && typeof c === 'object' && out.length < 10; c = c.cause as typeof c) {
    out.push(c as { name?: string; code?: string; message?: string });
  }
  return out;
}
