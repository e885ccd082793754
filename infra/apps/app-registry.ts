/**
 * Apps and their keys, shared by the collector (write keys) and serving (read keys, admin).
 *
 * Keys are shown once at creation and stored as SHA-256 only. A presented key is hashed,
 * looked up by its hash, and the stored hash compared with `timingSafeEqual`, so neither the
 * key nor the stored hash is compared byte by byte in variable time. The registry caches
 * apps in memory and reloads from ClickHouse periodically and on an unknown key (bounded),
 * so an app created by another process becomes usable within seconds.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { AppError } from '../errors';
import { invalidCidrs } from '../../schemas/cidr';

export const APP_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The longest attribution lookback rule 2 allows. */
export const MAX_LOOKBACK_DAYS = 30;

export interface App {
  app_id: string;
  lookback_days: number;
  ip_blocklist: string[];
  created_at: string;
  updated_at: string;
}
interface AppRow extends App {
  write_key_hash: string;
  read_key_hash: string;
}
export type KeyKind = 'write' | 'read';

export interface AppSettingsInput {
  lookback_days?: number;
  ip_blocklist?: string[];
}

export const hashSecret = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Constant-time equality of two secrets of any length (compares their digests). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(hashSecret(a), 'hex'), Buffer.from(hashSecret(b), 'hex'));
}

const newKey = (kind: KeyKind) => `${kind === 'write' ? 'wk' : 'rk'}_${randomBytes(24).toString('base64url')}`;
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export function validateAppSettings(input: unknown, partial: boolean): AppSettingsInput & { app_id?: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AppError('bad_request', 'body must be a JSON object');
  }
  const o = input as Record<string, unknown>;
  const allowed = partial ? ['lookback_days', 'ip_blocklist'] : ['app_id', 'lookback_days', 'ip_blocklist'];
  const unknown = Object.keys(o).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new AppError('bad_request', `unknown field(s) ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
  if (!partial && (typeof o.app_id !== 'string' || !APP_ID_RE.test(o.app_id))) {
    throw new AppError('bad_request', 'app_id must match ^[a-z0-9][a-z0-9_-]{0,63}$');
  }
  // Rule 2 allows 1–30 days (DESIGN.md section 4); a batch run reads clicks that far back.
  if (o.lookback_days !== undefined && (!Number.isInteger(o.lookback_days) || (o.lookback_days as number) < 1 || (o.lookback_days as number) > MAX_LOOKBACK_DAYS)) {
    throw new AppError('bad_request', `lookback_days must be an integer from 1 to ${MAX_LOOKBACK_DAYS}`);
  }
  if (o.ip_blocklist !== undefined) {
    if (!Array.isArray(o.ip_blocklist) || !o.ip_blocklist.every((c) => typeof c === 'string') || o.ip_blocklist.length > 10_000) {
      throw new AppError('bad_request', 'ip_blocklist must be an array of at most 10000 CIDR strings');
    }
    const bad = invalidCidrs(o.ip_blocklist as string[]);
    if (bad.length) throw new AppError('bad_request', `ip_blocklist has invalid CIDR(s): ${bad.slice(0, 5).join(', ')}`);
  }
  return o as AppSettingsInput & { app_id?: string };
}

export interface AppRegistry {
  create(appId: string, settings: AppSettingsInput): Promise<{ app: App; write_key: string; read_key: string }>;
  update(appId: string, settings: AppSettingsInput): Promise<App>;
  get(appId: string): Promise<App | undefined>;
  list(): Promise<App[]>;
  /** The app a key belongs to, when it is a key of that kind; undefined otherwise. */
  authenticate(key: string, kind: KeyKind): Promise<App | undefined>;
  /** Settings of every app, from the cache (for per-event decisions on hot paths). */
  cached(appId: string): App | undefined;
  refresh(): Promise<void>;
  close(): void;
}

export function createAppRegistry(ch: ClickHouseClient, opts: { defaultLookbackDays: number; refreshMs?: number }): AppRegistry {
  let byId = new Map<string, AppRow>();
  let byHash = new Map<string, { row: AppRow; kind: KeyKind }>();
  let lastLoad = 0;
  let loading: Promise<void> | undefined;

  async function load(): Promise<void> {
    const rs = await ch.query({
      query: `SELECT app_id, lookback_days, ip_blocklist, write_key_hash, read_key_hash,
                     toString(created_at) AS created_at, toString(updated_at) AS updated_at
              FROM apps FINAL ORDER BY app_id`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<AppRow>();
    const ids = new Map<string, AppRow>();
    const hashes = new Map<string, { row: AppRow; kind: KeyKind }>();
    for (const r of rows) {
      r.lookback_days = Number(r.lookback_days);
      ids.set(r.app_id, r);
      hashes.set(r.write_key_hash, { row: r, kind: 'write' });
      hashes.set(r.read_key_hash, { row: r, kind: 'read' });
    }
    byId = ids;
    byHash = hashes;
    lastLoad = Date.now();
  }
  const reload = () => (loading ??= load().finally(() => (loading = undefined)));

  const refreshMs = opts.refreshMs ?? 5000;
  const timer = setInterval(() => void reload().catch(() => undefined), refreshMs);
  timer.unref();

  // Stored as ClickHouse DateTime64 text in UTC; shown as ISO-8601, as every time of the API.
  const iso = (chText: string) => `${chText.replace(' ', 'T')}Z`;
  const publicApp = (r: AppRow): App => ({
    app_id: r.app_id,
    lookback_days: r.lookback_days,
    ip_blocklist: r.ip_blocklist,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  });

  async function write(row: AppRow): Promise<void> {
    await ch.insert({ table: 'apps', values: [row], format: 'JSONEachRow' });
    await reload();
  }

  return {
    async create(appId, s) {
      await reload();
      if (byId.has(appId)) throw new AppError('conflict', `app ${appId} already exists`);
      const write_key = newKey('write');
      const read_key = newKey('read');
      const now = chTime(Date.now());
      const row: AppRow = {
        app_id: appId,
        lookback_days: s.lookback_days ?? opts.defaultLookbackDays,
        ip_blocklist: s.ip_blocklist ?? [],
        write_key_hash: hashSecret(write_key),
        read_key_hash: hashSecret(read_key),
        created_at: now,
        updated_at: now,
      };
      await write(row);
      return { app: publicApp(byId.get(appId) ?? row), write_key, read_key };
    },
    async update(appId, s) {
      await reload();
      const cur = byId.get(appId);
      if (!cur) throw new AppError('not_found', `app ${appId} does not exist`);
      // updated_at versions the ReplacingMergeTree row: keep it strictly increasing.
      const next = Math.max(Date.now(), Date.parse(cur.updated_at.replace(' ', 'T') + 'Z') + 1);
      const row: AppRow = {
        ...cur,
        lookback_days: s.lookback_days ?? cur.lookback_days,
        ip_blocklist: s.ip_blocklist ?? cur.ip_blocklist,
        updated_at: chTime(next),
      };
      await write(row);
      return publicApp(byId.get(appId) ?? row);
    },
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
      // most once a second so a flood of garbage keys cannot hammer ClickHouse.
      if (!hit && Date.now() - lastLoad > 1000) {
        await reload();
        hit = byHash.get(h);
      }
      if (!hit || hit.kind !== kind) return undefined;
      const stored = kind === 'write' ? hit.row.write_key_hash : hit.row.read_key_hash;
      if (!timingSafeEqual(Buffer.from(stored, 'hex'), Buffer.from(h, 'hex'))) return undefined;
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
