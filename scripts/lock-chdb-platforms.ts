/**
 * Records chdb's native packages for every platform in package-lock.json, so that `npm ci`
 * accepts the lock on Linux x64 and arm64 and on macOS, and each of them installs the engine
 * version chdb pins. npm records an optional dependency only when the registry it asks serves
 * its manifest; the one these machines reach serves `@chdb/lib-linux-x64-gnu` alone, so after
 * `npm install` of a new chdb the other platforms are missing again and `npm ci` refuses the
 * lock ("Missing: @chdb/lib-darwin-arm64@ from lock file"). Run after upgrading chdb:
 *   bash scripts/with-node.sh node --import tsx scripts/lock-chdb-platforms.ts
 * The entries carry no `integrity` (the registry here cannot give it): npm checks the tarball
 * against the registry's own on the machine that installs it. test/unit/package-lock.test.ts
 * fails while an entry is missing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

const lockFile = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, LockEntry> };
const chdb = lock.packages['node_modules/chdb'];
if (!chdb) throw new Error('package-lock.json has no node_modules/chdb');

// chdb names its packages lib-<os>-<cpu>[-gnu] (chdb-node's scripts/build-platform-pkg.sh).
const PLATFORM = /^@chdb\/lib-(darwin|linux)-(x64|arm64)(-gnu)?$/;
const added: string[] = [];
for (const [name, version] of Object.entries(chdb.optionalDependencies ?? {})) {
  const m = PLATFORM.exec(name);
  if (!m) throw new Error(`chdb's optional dependency ${name} is no platform package this script knows`);
  const key = `node_modules/${name}`;
  if (lock.packages[key]?.version === version) continue;
  lock.packages[key] = {
    version,
    cpu: [m[2]],
    ...(m[3] ? { libc: ['glibc'] } : {}),
    license: 'Apache-2.0',
    optional: true,
    os: [m[1]],
  };
  added.push(`${name}@${version}`);
}
// npm keeps the packages sorted by path; a lock in its own order keeps its next rewrite quiet.
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => a.localeCompare(b, 'en')));
writeFileSync(lockFile, JSON.stringify(lock, null, 2) + '\n');
process.stderr.write(added.length ? `recorded ${added.join(', ')}\n` : 'every chdb platform package was already recorded\n');
