/**
 * Apps and their keys, shared by the collector (write keys) and serving (read keys, admin).
 *
 * Keys are shown once (at creation or rotation) and stored as SHA-256 only. A rotated key
 * keeps working for the grace period (`KEY_GRACE_SECONDS`) beside its successor; a disabled
 * app's keys are refused like unknown ones. A presented key is hashed,
 * looked up by its hash, and the stored hash compared with `timingSafeEqual`, so neither the
 * key nor the stored hash is compared byte by byte in variable time. The registry caches
 * apps in memory and reloads from ClickHouse periodically and on an unknown key (bounded),
 * so an app created by another process becomes usable within seconds.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { AppError } from '../errors';
import type { AppChange, AppSettingsInput, KeyField } from './app-input';

/**
 * How long a rotated key keeps working beside its successor, by default: a day, time to roll
 * the new key out to servers and dashboards. Keys built into shipped app binaries need a
 * longer grace (KEY_GRACE_SECONDS).
 */
export const DEFAULT_KEY_GRACE_SECONDS = 86_400;

export interface App {
  app_id: string;
  lookback_days: number;
  ip_blocklist: string[];
  disabled: boolean;
  created_at: string;
  updated_at: string;
}
/** A row of `apps` as stored (times as ClickHouse DateTime64 text, UTC). */
interface AppRow extends Omit<App, 'disabled'> {
  disabled: number;
  write_key_hash: string;
  read_key_hash: string;
  /** The key a rotation replaced, valid until `prev_*_key_until`; '' when none. */
  prev_write_key_hash: string;
  prev_write_key_until: string;
  prev_read_key_hash: string;
  prev_read_key_until: string;
}
export type KeyKind = 'write' | 'read';
const KIND_OF: Record<KeyField, KeyKind> = { write_key: 'write', read_key: 'read' };

export interface AppUpdate {
  app: App;
  /** The new keys of a rotation, shown once. */
  keys: Partial<Record<KeyField, string>>;
  /** Until when the keys a rotation replaced keep working (ISO-8601). */
  old_keys_valid_until?: string;
}

export const hashSecret = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Constant-time equality of two secrets of any length (compares their digests). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(hashSecret(a), 'hex'), Buffer.from(hashSecret(b), 'hex'));
}

const newKey = (kind: KeyKind) => `${kind === 'write' ? 'wk' : 'rk'}_${randomBytes(24).toString('base64url')}`;
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
// Stored as ClickHouse DateTime64 text in UTC; shown as ISO-8601, as every time of the API.
const iso = (chText: string) => `${chText.replace(' ', 'T')}Z`;
const chMs = (chText: string) => Date.parse(iso(chText));

export interface AppRegistry {
  /** 409 when the app exists, also when another process created it at the same moment. */
  create(appId: string, settings: AppSettingsInput): Promise<{ app: App; write_key: string; read_key: string }>;
  update(appId: string, change: AppChange): Promise<AppUpdate>;
  get(appId: string): Promise<App | undefined>;
  list(): Promise<App[]>;
  /** The app a key belongs to, when it is a valid key of that kind of an enabled app; undefined otherwise. */
  authenticate(key: string, kind: KeyKind): Promise<App | undefined>;
  /** Settings of every app, from the cache (for per-event decisions on hot paths). */
  cached(appId: string): App | undefined;
  refresh(): Promise<void>;
  close(): void;
}

/** The columns of `apps` (migrations 001 and 013) and their ClickHouse types. */
const APP_COLUMNS: Record<keyof AppRow, string> = {
  app_id: 'String',
  lookback_days: 'UInt16',
  ip_blocklist: 'Array(String)',
  disabled: 'UInt8',
  write_key_hash: 'String',
  read_key_hash: 'String',
  prev_write_key_hash: 'String',
  prev_write_key_until: 'DateTime64(3)',
  prev_read_key_hash: 'String',
  prev_read_key_until: 'DateTime64(3)',
  created_at: 'DateTime64(3)',
  updated_at: 'DateTime64(3)',
};

interface KeyEntry {
  row: AppRow;
  kind: KeyKind;
  hash: string;
  /** A rotated-out key: valid before this time (ms). */
  until?: number;
}

export interface AppRegistryOptions {
  defaultLookbackDays: number;
  /** KEY_GRACE_SECONDS in ms: how long a rotated key keeps working; default DEFAULT_KEY_GRACE_SECONDS. */
  keyGraceMs?: number;
  refreshMs?: number;
  now?: () => number;
}

export function createAppRegistry(ch: ClickHouseClient, opts: AppRegistryOptions): AppRegistry {
  const now = opts.now ?? Date.now;
  let byId = new Map<string, AppRow>();
  let byHash = new Map<string, KeyEntry>();
  let lastAttempt = 0;
  /** Set while the last load failed: ClickHouse is unreachable. */
  let loadFailed = false;
  let loading: Promise<void> | undefined;

  async function load(): Promise<void> {
    const rs = await ch.query({
      query: `SELECT app_id, lookback_days, ip_blocklist, disabled, write_key_hash, read_key_hash,
                     prev_write_key_hash, toString(prev_write_key_until) AS prev_write_key_until,
                     prev_read_key_hash, toString(prev_read_key_until) AS prev_read_key_until,
                     toString(created_at) AS created_at, toString(updated_at) AS updated_at
              FROM apps FINAL ORDER BY app_id`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<AppRow>();
    const ids = new Map<string, AppRow>();
    const hashes = new Map<string, KeyEntry>();
    for (const r of rows) {
      r.lookback_days = Number(r.lookback_days);
      r.disabled = Number(r.disabled);
      ids.set(r.app_id, r);
      hashes.set(r.write_key_hash, { row: r, kind: 'write', hash: r.write_key_hash });
      hashes.set(r.read_key_hash, { row: r, kind: 'read', hash: r.read_key_hash });
      if (r.prev_write_key_hash) hashes.set(r.prev_write_key_hash, { row: r, kind: 'write', hash: r.prev_write_key_hash, until: chMs(r.prev_write_key_until) });
      if (r.prev_read_key_hash) hashes.set(r.prev_read_key_hash, { row: r, kind: 'read', hash: r.prev_read_key_hash, until: chMs(r.prev_read_key_until) });
    }
    byId = ids;
    byHash = hashes;
    loadFailed = false;
  }
  const reload = () =>
    (loading ??= load()
      .catch((err: unknown) => {
        loadFailed = true;
        throw err;
      })
      .finally(() => (loading = undefined)));

  const refreshMs = opts.refreshMs ?? 5000;
  const timer = setInterval(() => void reload().catch(() => undefined), refreshMs);
  timer.unref();

  const publicApp = (r: AppRow): App => ({
    app_id: r.app_id,
    lookback_days: r.lookback_days,
    ip_blocklist: r.ip_blocklist,
    disabled: r.disabled === 1,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  });

  /**
   * One row, its values as query parameters. The deduplication token goes in the statement's
   * SETTINGS, never in the client's settings: the embedded chDB connection applies those as a
   * session `SET`, which would carry the token on to later inserts of this client.
   */
  async function write(row: AppRow, dedupToken?: string): Promise<void> {
    const cols = Object.keys(APP_COLUMNS) as (keyof AppRow)[];
    const settings = dedupToken === undefined ? '' : 'SETTINGS insert_deduplication_token = {token: String} ';
    await ch.command({
      query: `INSERT INTO apps (${cols.join(', ')}) ${settings}SELECT ${cols.map((c) => `{${c}: ${APP_COLUMNS[c]}}`).join(', ')}`,
      query_params: { ...row, token: dedupToken },
    });
    await reload();
  }

  // Writes of this process one at a time: a create checks and inserts, an update reads and
  // writes back, and neither may interleave with another.
  let writing: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = writing.then(fn, fn);
    writing = p.catch(() => undefined);
    return p;
  };

  /** Whether a row with this write key hash was stored for the app (false: another process's creation won). */
  async function stored(appId: string, writeKeyHash: string): Promise<boolean> {
    const rs = await ch.query({
      query: 'SELECT count() AS n FROM apps WHERE app_id = {appId: String} AND write_key_hash = {hash: String}',
      query_params: { appId, hash: writeKeyHash },
      format: 'JSONEachRow',
    });
    const [r] = await rs.json<{ n: number | string }>();
    return Number(r?.n ?? 0) > 0;
  }

  return {
    create: (appId, s) =>
      serial(async () => {
        await reload();
        if (byId.has(appId)) throw new AppError('conflict', `app ${appId} already exists`);
        const write_key = newKey('write');
        const read_key = newKey('read');
        const at = chTime(now());
        const row: AppRow = {
          app_id: appId,
          lookback_days: s.lookback_days ?? opts.defaultLookbackDays,
          ip_blocklist: s.ip_blocklist ?? [],
          disabled: 0,
          write_key_hash: hashSecret(write_key),
          read_key_hash: hashSecret(read_key),
          prev_write_key_hash: '',
          prev_write_key_until: chTime(0),
          prev_read_key_hash: '',
          prev_read_key_until: chTime(0),
          created_at: at,
          updated_at: at,
        };
        // Across processes: every creation of one app carries one deduplication token, so
        // ClickHouse stores the first and drops the others (migrations/013-app-keys.sql); the
        // process whose row was dropped answers 409.
        await write(row, `create:${appId}`);
        if (!(await stored(appId, row.write_key_hash))) throw new AppError('conflict', `app ${appId} already exists (created at the same moment elsewhere)`);
        return { app: publicApp(byId.get(appId) ?? row), write_key, read_key };
      }),
    update: (appId, change) =>
      serial(async () => {
        await reload();
        const cur = byId.get(appId);
        if (!cur) throw new AppError('not_found', `app ${appId} does not exist`);
        // updated_at versions the ReplacingMergeTree row: keep it strictly increasing.
        const t = Math.max(now(), chMs(cur.updated_at) + 1);
        const row: AppRow = {
          ...cur,
          lookback_days: change.lookback_days ?? cur.lookback_days,
          ip_blocklist: change.ip_blocklist ?? cur.ip_blocklist,
          disabled: change.disabled === undefined ? cur.disabled : Number(change.disabled),
          updated_at: chTime(t),
        };
        // A rotation keeps one previous key per kind: rotating again within the grace period
        // ends the older key at once.
        const keys: AppUpdate['keys'] = {};
        const until = t + (opts.keyGraceMs ?? DEFAULT_KEY_GRACE_SECONDS * 1000);
        for (const field of change.rotate ?? []) {
          const key = newKey(KIND_OF[field]);
          keys[field] = key;
          const kind = KIND_OF[field];
          row[`prev_${kind}_key_hash`] = cur[`${kind}_key_hash`];
          row[`prev_${kind}_key_until`] = chTime(until);
          row[`${kind}_key_hash`] = hashSecret(key);
        }
        await write(row);
        const app = publicApp(byId.get(appId) ?? row);
        return change.rotate?.length ? { app, keys, old_keys_valid_until: new Date(until).toISOString() } : { app, keys };
      }),
    async get(appId) {
      if (!byId.has(appId)) await reload();
      const r = byId.get(appId);
      return r && publicApp(r);
    },
    async list() {
      await reload();
      return [...byId.values()].map(publicApp);
    },
    async authenticate(key, kind) {
      if (typeof key !== 'string' || key.length === 0 || key.length > 256) return undefined;
      const h = hashSecret(key);
      let hit = byHash.get(h);
      // An unknown key may belong to an app another process just created: reload, but at
      // most once a second so a flood of garbage keys cannot hammer ClickHouse. Known keys are
      // answered from memory, so they keep working while ClickHouse is down; an unknown one
      // then cannot be judged, and gets 503 rather than a 401 that would call it wrong.
      if (!hit && now() - lastAttempt > 1000) {
        lastAttempt = now();
        await reload().catch(() => undefined);
        hit = byHash.get(h);
      }
      if (!hit && loadFailed) {
        throw new AppError('unavailable', 'the app registry (ClickHouse) is unreachable and this key is not known yet; retry later', { 'Retry-After': '5' });
      }
      if (!hit || hit.kind !== kind || hit.row.disabled === 1) return undefined;
      if (hit.until !== undefined && now() >= hit.until) return undefined;
      if (!timingSafeEqual(Buffer.from(hit.hash, 'hex'), Buffer.from(h, 'hex'))) return undefined;
      return publicApp(hit.row);
    },
    cached(appId) {
      const r = byId.get(appId);
      return r && publicApp(r);
    },
    refresh: reload,
    close: () => clearInterval(timer),
  };
}
