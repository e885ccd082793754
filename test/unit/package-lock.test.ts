/**
 * `npm ci` (the Dockerfile, CI, a fresh clone) refuses a lock that lacks any package the
 * dependency tree names, optional platform packages included, even those for other machines.
 * The registry these machines reach serves chdb's Linux x64 engine only, so an `npm install`
 * here records no other platform; scripts/lock-chdb-platforms.ts puts them back.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface LockEntry {
  version?: string;
  os?: string[];
  cpu?: string[];
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(path.join(__dirname, '../../package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

/** Where node (and npm) find `name` from the package at `from`: its own node_modules, then each parent's. */
function resolveIn(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (lock.packages[key]) return key;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

it('records every optional dependency of every package, for every platform', () => {
  const missing: string[] = [];
  for (const [from, entry] of Object.entries(lock.packages)) {
    for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
      const at = resolveIn(from, name);
      // chdb and the other native packages pin exact versions; a range is npm's to check.
      if (!at || (/^\d+\.\d+\.\d+\S*$/.test(spec) && lock.packages[at].version !== spec)) missing.push(`${from || 'weir'} -> ${name}@${spec}`);
    }
  }
  expect(missing).toEqual([]); // if not: bash scripts/with-node.sh node --import tsx scripts/lock-chdb-platforms.ts
});

it('records chdb engines for Linux x64 and arm64 and macOS, each limited to its platform', () => {
  const engines = Object.entries(lock.packages)
    .filter(([key]) => key.startsWith('node_modules/@chdb/lib-'))
    .map(([key, e]) => `${key.slice('node_modules/'.length)} ${e.os?.join()}/${e.cpu?.join()}`);
  expect(engines.sort()).toEqual([
    '@chdb/lib-darwin-arm64 darwin/arm64',
    '@chdb/lib-darwin-x64 darwin/x64',
    '@chdb/lib-linux-arm64-gnu linux/arm64',
    '@chdb/lib-linux-x64-gnu linux/x64',
  ]);
});
