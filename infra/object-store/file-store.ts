/**
 * Object store in a local directory: key `a/b/c.arrow` is the file `<root>/a/b/c.arrow`, the
 * same layout as in S3, so ClickHouse globs and batch-layer code are backend-independent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  TEMP_PREFIX,
  assertValidKey,
  assertValidPrefix,
  compareKeys,
  type ClickHouseSource,
  type ObjectStore,
  type PutCondition,
  type PutIfResult,
  type VersionedObject,
} from './object-store';

/** How long a conditional put waits for another writer's lock on the same key. */
const LOCK_TIMEOUT_MS = 10_000;

export class FileObjectStore implements ObjectStore {
  readonly url: string;

  constructor(readonly root: string) {
    if (!path.isAbsolute(root)) throw new Error(`file object store root must be absolute, got '${root}'`);
    this.root = path.resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  async put(key: string, body: Uint8Array | Buffer): Promise<void> {
    assertValidKey(key);
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    // A concurrent delete() prunes empty directories, so the directory can vanish between
    // mkdir and creating the temp file; retrying is enough because a directory holding our
    // temp file is never empty and thus never pruned.
    for (let attempt = 0; ; attempt++) {
      const created = await fs.mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST' || err.code === 'ENOTDIR') {
          throw new Error(`cannot put '${key}' in ${this.url}: a parent of the key is an object`);
        }
        throw err;
      });
      const tmp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(tmp, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
        throw err;
      }
      try {
        try {
          await handle.writeFile(body);
          // Data must be on disk before the rename makes it visible, else a crash can leave
          // a complete-looking but empty or torn object under the final name.
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(tmp, target);
      } catch (err) {
        await fs.rm(tmp, { force: true });
        if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
          throw new Error(`cannot put '${key}' in ${this.url}: the key is a prefix of other objects`);
        }
        throw err;
      }
      // The rename (and any directories mkdir created) is durable only once the directories
      // holding them are synced.
      await syncDir(dir);
      if (created !== undefined) {
        // mkdir returns the top-most directory it created; each new directory's entry lives in
        // its parent, from dirname(dir) up to dirname(created).
        const stop = path.dirname(created);
        for (let d = path.dirname(dir); ; d = path.dirname(d)) {
          await syncDir(d);
          if (d === stop || d === path.dirname(d)) break;
        }
      }
      return;
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    assertValidKey(key);
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // EISDIR: the key is only a prefix of other objects; ENOTDIR: a parent is an object.
      // Neither is an object with this key, as on S3.
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    const body = await this.get(key);
    return body && { body, version: contentVersion(body) };
  }

  /**
   * Check and write under an exclusive lock file beside the object (`O_EXCL` create, skipped by
   * list() like temp files), so that of racing writers exactly one sees its condition hold.
   * The store is local to one machine, so a lock whose process is gone is stale and is broken.
   */
  async putIf(key: string, body: Uint8Array | Buffer, condition: PutCondition): Promise<PutIfResult> {
    assertValidKey(key);
    return this.withKeyLock(key, async () => {
      const current = await this.get(key);
      const holds = 'ifMatch' in condition ? current !== undefined && contentVersion(current) === condition.ifMatch : current === undefined;
      if (!holds) return { ok: false };
      await this.put(key, body);
      return { ok: true, version: contentVersion(body) };
    });
  }

  private async withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const target = this.pathOf(key);
    const lock = path.join(path.dirname(target), `${TEMP_PREFIX}lock-${path.basename(target)}`);
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (;;) {
      try {
        // A concurrent delete() may prune the directory between these two calls: ENOENT, retry.
        await fs.mkdir(path.dirname(lock), { recursive: true });
        const handle = await fs.open(lock, 'wx');
        try {
          await handle.writeFile(String(process.pid));
        } finally {
          await handle.close();
        }
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOENT') throw err;
        if (code === 'EEXIST' && !(await lockHolderAlive(lock))) await fs.rm(lock, { force: true });
        if (Date.now() > deadline) throw new Error(`cannot lock '${key}' in ${this.url}: held by another writer for ${LOCK_TIMEOUT_MS} ms`, { cause: err });
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    }
    try {
      return await fn();
    } finally {
      await fs.rm(lock, { force: true });
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // Walk only the deepest directory the prefix fully names, then filter by the string prefix
    // (S3 prefixes need not end at a '/': 'day=2024-0' matches 'day=2024-01/x').
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const keys: string[] = [];
    await this.walk(base, keys);
    return keys.filter((k) => k.startsWith(prefix)).sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await fs.unlink(this.pathOf(key));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      if (code === 'EISDIR' || code === 'EPERM') return; // a prefix, not an object: nothing to delete
      throw err;
    }
    // S3 has no directories: prune the ones left empty so that the tree, and what ClickHouse
    // globs see, stays the same as the bucket. rmdir refuses non-empty directories, which
    // makes this safe against concurrent puts.
    for (let d = path.dirname(this.pathOf(key)); d !== this.root; d = path.dirname(d)) {
      try {
        await fs.rmdir(d);
      } catch {
        break;
      }
    }
  }

  async rename(from: string, to: string): Promise<void> {
    assertValidKey(from);
    assertValidKey(to);
    const source = this.pathOf(from);
    const target = this.pathOf(to);
    // The writer (ClickHouse) did not sync: the data must be on disk before the rename makes
    // it visible, else a crash could leave a torn object under the final name.
    const handle = await fs.open(source, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(source, target);
    await syncDir(path.dirname(target));
    if (path.dirname(source) !== path.dirname(target)) await syncDir(path.dirname(source));
  }

  clickhouseSource(globKey: string): ClickHouseSource {
    if (globKey.startsWith('/')) throw new Error(`glob key must be relative to the store root, got '${globKey}'`);
    // chdb's file() accepts absolute paths anywhere (verified with chdb 3.4.0); a ClickHouse
    // server restricts file() to its user_files_path, so the root must live under it there.
    // ClickHouse expands globs in the whole path: a root containing * ? { } would match more.
    return { fn: 'file', args: [path.posix.join(this.root, globKey)] };
  }

  async ping(): Promise<void> {
    try {
      await fs.mkdir(this.root, { recursive: true });
      const stat = await fs.stat(this.root);
      if (!stat.isDirectory()) throw new Error('not a directory');
      await fs.access(this.root, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    } catch (err) {
      throw new Error(`object store ${this.url} is not usable: ${(err as Error).message}`, { cause: err });
    }
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private async walk(relDir: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(relDir === '' ? this.root : this.pathOf(relDir), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue; // in-flight put, not an object yet
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) await this.walk(rel, out);
      else if (entry.isFile()) out.push(rel);
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(dir, 'r');
  } catch (err) {
    // A concurrent delete() pruned the directory: the object is gone anyway.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Like S3's ETag of a single-part upload: the quoted MD5 of the body. */
function contentVersion(body: Uint8Array): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

/** A lock file is held while its writer's process lives (an empty file: being written, held). */
async function lockHolderAlive(lock: string): Promise<boolean> {
  const pid = Number((await fs.readFile(lock, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
