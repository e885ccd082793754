/**
 * Versioned schema migrations: `migrations/NNN-name.sql`, applied in order at start-up and
 * recorded in `_migrations`. A file may hold several statements separated by `;` at line end.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';

const DIR = path.join(__dirname, 'migrations');

export async function migrate(ch: ClickHouseClient, dir = DIR): Promise<string[]> {
  await ch.command({
    query: `CREATE TABLE IF NOT EXISTS _migrations (version String, applied_at DateTime64(3) DEFAULT now64(3))
            ENGINE = MergeTree ORDER BY version`,
  });
  const rs = await ch.query({ query: 'SELECT version FROM _migrations', format: 'JSONEachRow' });
  const done = new Set((await rs.json<{ version: string }>()).map((r) => r.version));
  const files = fs.readdirSync(dir).filter((f) => /^\d{3}-.*\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    const version = file.replace(/\.sql$/, '');
    if (done.has(version)) continue;
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const stmt of splitStatements(sql)) await ch.command({ query: stmt });
    await ch.insert({ table: '_migrations', values: [{ version }], format: 'JSONEachRow' });
    applied.push(version);
  }
  return applied;
}

/** Splits a file of several statements (`;` at line end), dropping comment lines. */
export function splitStatements(sql: string): string[] {
  return sql
    .replace(/^\s*--.*$/gm, '')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter(Boolean);
}
