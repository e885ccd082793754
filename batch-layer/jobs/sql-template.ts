/**
 * The recompute's statements live in `sql/*.sql`. They take values only as `{name:Type}`
 * query parameters; `{{NAME}}` marks where code-built fragments go (the table function of
 * the pinned archive files, the SETTINGS clause), and only names in the allow-list below.
 */
import fs from 'node:fs';
import path from 'node:path';

export type Fragment = 'ALL' | 'SETTINGS';
const FRAGMENTS: readonly Fragment[] = ['ALL', 'SETTINGS'];

const cache = new Map<string, string>();

export function loadSql(name: string): string {
  let sql = cache.get(name);
  if (sql === undefined) {
    sql = fs.readFileSync(path.join(__dirname, 'sql', name), 'utf8');
    cache.set(name, sql);
  }
  return sql;
}

export function renderSql(template: string, fragments: Readonly<Record<Fragment, string>>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    if (!(FRAGMENTS as readonly string[]).includes(name)) throw new Error(`unknown SQL fragment {{${name}}}`);
    return fragments[name as Fragment];
  });
}
