/**
 * The recompute's statements live in `sql/*.sql`. They take values only as `{name:Type}`
 * query parameters; `{{NAME}}` marks where code-built fragments go (the rows of the pinned
 * archive files, the SETTINGS clause, the run's table-name suffix), and only names in the
 * allow-list below.
 */
import fs from 'node:fs';
import path from 'node:path';

export type Fragment = 'ROWS' | 'WINDOW_ROWS' | 'WINDOW_COUNTED' | 'CLICK_RANGE_COUNTED' | 'SETTINGS' | 'RUN';
const FRAGMENTS: readonly Fragment[] = ['ROWS', 'WINDOW_ROWS', 'WINDOW_COUNTED', 'CLICK_RANGE_COUNTED', 'SETTINGS', 'RUN'];

const cache = new Map<string, string>();

export function loadSql(name: string): string {
  let sql = cache.get(name);
  if (sql === undefined) {
    sql = fs.readFileSync(path.join(__dirname, 'sql', name), 'utf8');
    cache.set(name, sql);
  }
  return sql;
}

export function renderSql(template: string, fragments: Readonly<Partial<Record<Fragment, string>>>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = (FRAGMENTS as readonly string[]).includes(name) ? fragments[name as Fragment] : undefined;
    if (value === undefined) throw new Error(`unknown SQL fragment {{${name}}}`);
    return value;
  });
}

/** The suffix of a run's table names: its id with only [a-z0-9_]. */
export function runTableSuffix(runId: string): string {
  const suffix = runId.toLowerCase().replace(/[^a-z0-9]/g, '_');
  if (!/^[a-z0-9_]{1,64}$/.test(suffix)) throw new Error(`run id ${JSON.stringify(runId)} cannot name tables`);
  return suffix;
}
