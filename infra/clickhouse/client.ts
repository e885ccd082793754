/**
 * One factory for the analytics store: a ClickHouse server over HTTP when `CLICKHOUSE_URL`
 * is set, else embedded chDB (one data directory per process) behind the same
 * `@clickhouse/client` API, so the SQL tested here is the SQL that runs against a server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from '../config';

export type { ClickHouseClient };

export interface ClickHouseHandle {
  client: ClickHouseClient;
  /** `embedded` (chDB) or `server`; the embedded engine reads local files with file(). */
  kind: 'embedded' | 'server';
  /**
   * `n` clients whose statements run at the same time as one another's. The embedded engine
   * runs one statement at a time per connection, so it opens more connections to its data
   * directory (kept, and closed with the handle); a server runs a client's requests at once,
   * so there it is this client `n` times.
   */
  concurrent(n: number): ClickHouseClient[];
  /**
   * Creates the configured database when it is missing (a server only; the embedded engine
   * uses its own directory's default database). Every request of `client` names the database,
   * so a server refuses them all (UNKNOWN_DATABASE) until it exists.
   */
  ensureDatabase(): Promise<void>;
  close(): Promise<void>;
}

export function createClickHouse(cfg: Pick<Config, 'clickhouse' | 'dataDir'>): ClickHouseHandle {
  const settings = {
    // 64-bit integers as JSON numbers lose precision past 2^53; we only return counts and
    // micro-units well below that, and quoting them would force every caller to convert.
    output_format_json_quote_64bit_integers: 0,
  } as const;
  if (cfg.clickhouse.url) {
    const client = createClient({
      url: cfg.clickhouse.url,
      username: cfg.clickhouse.user,
      password: cfg.clickhouse.password,
      database: cfg.clickhouse.database,
      clickhouse_settings: settings,
      request_timeout: 300_000,
    });
    const ensureDatabase = async () => {
      const admin = createClient({ url: cfg.clickhouse.url, username: cfg.clickhouse.user, password: cfg.clickhouse.password });
      try {
        await admin.command({ query: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}', query_params: { db: cfg.clickhouse.database } });
      } finally {
        await admin.close();
      }
    };
    return { client, kind: 'server', concurrent: (n) => Array.from({ length: n }, () => client), ensureDatabase, close: () => client.close() };
  }
  const dir = path.join(cfg.dataDir, 'clickhouse');
  fs.mkdirSync(dir, { recursive: true });
  // chdb ships its own copy of the Connection types; the shapes are identical.
  const connect = () => createClient({ connection: createChdbConnection({ path: dir }) as never });
  const client = connect();
  const more: ClickHouseClient[] = [];
  let closed: Promise<void> | undefined;
  return {
    client,
    kind: 'embedded',
    ensureDatabase: async () => undefined,
    concurrent: (n) => {
      while (more.length < n) more.push(connect());
      return more.slice(0, n);
    },
    close: () => (closed ??= Promise.all([client, ...more].map((c) => c.close())).then(() => undefined)),
  };
}

/** Plain rows of a query; values only through `{name:Type}` parameters. */
export async function queryRows<T>(ch: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}
