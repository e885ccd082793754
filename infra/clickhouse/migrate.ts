/**
 * Versioned schema migrations: `migrations/NNN-name.sql`, applied in order at start-up and
 * recorded in `_migrations`. A file may hold several statements separated by `;` at line end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { installRules } from '../../rules/install-rules';
import { CLAIMS_DDL, createLease } from './lease';
import { splitStatements } from './sql-statements';

const DIR = path.join(__dirname, 'migrations');

export interface MigrateOptions {
  dir?: string;
  /**
   * Take a lease while migrating: processes sharing a ClickHouse server (each role its own)
   * start together, and two running the same migration fail each other (one renames a table
   * the other then misses). The embedded engine is one process's alone, so it needs none.
   */
  lock?: boolean;
}

export async function migrate(ch: ClickHouseClient, opts: MigrateOptions = {}): Promise<string[]> {
  const dir = opts.dir ?? DIR;
  await ch.command({
    query: `CREATE TABLE IF NOT EXISTS _migrations (version String, applied_at DateTime64(3) DEFAULT now64(3))
            ENGINE = MergeTree ORDER BY version`,
  });
  const files = fs.readdirSync(dir).filter((f) => /^\d{3}-.*\.sql$/.test(f)).sort();
  const pending = async () => {
    const rs = await ch.query({ query: 'SELECT version FROM _migrations', format: 'JSONEachRow' });
    const done = new Set((await rs.json<{ version: string }>()).map((r) => r.version));
    return files.map((f) => f.replace(/\.sql$/, '')).filter((v) => !done.has(v));
  };
  // The rules are replaced at every start (no version: the running code's own).
  await installRules(ch);
  // Nothing to do is the common start-up: no lease then.
  const todo = await pending();
  if (!todo.length) return [];
  if (!opts.lock) return apply(ch, dir, todo);
  await ch.command({ query: `CREATE TABLE IF NOT EXISTS _migrations_lock ${CLAIMS_DDL}` });
  const held = await createLease(ch, { table: '_migrations_lock', name: 'migrate', holder: `${os.hostname()}:${process.pid}` }).acquire();
  try {
    // Whoever held the lease before may have applied them meanwhile.
    return await apply(ch, dir, await pending());
  } finally {
    await held.release();
  }
}

async function apply(ch: ClickHouseClient, dir: string, versions: string[]): Promise<string[]> {
  for (const version of versions) {
    const sql = fs.readFileSync(path.join(dir, `${version}.sql`), 'utf8');
    for (const stmt of splitStatements(sql)) await ch.command({ query: stmt });
    await ch.insert({ table: '_migrations', values: [{ version }], format: 'JSONEachRow' });
  }
  return versions;
}

