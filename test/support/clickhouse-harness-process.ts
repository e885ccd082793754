/**
 * The server-path test mode (`npm run test:server`): with WEIR_TEST_CLICKHOUSE=harness, the
 * integration project's global setup starts the ClickHouse HTTP harness (test/harness) as a
 * process of its own, and every weir process a test starts gets `CLICKHOUSE_URL` pointing at
 * it and a database of its own (testEnv).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/paths';
import { waitFor } from './wait-for';

export const HARNESS_ENV = {
  mode: 'WEIR_TEST_CLICKHOUSE',
  url: 'WEIR_TEST_CLICKHOUSE_URL',
  pid: 'WEIR_TEST_CLICKHOUSE_PID',
} as const;

/** The harness's URL when the tests run the server path, else undefined (embedded chDB). */
export function harnessUrl(): string | undefined {
  return process.env[HARNESS_ENV.url] || undefined;
}

/** On the server path, the harness and a database named after `id`, a test's own; else undefined. */
export function testClickHouse(id: string): { url: string; database: string } | undefined {
  const url = harnessUrl();
  return url ? { url, database: `weir_t${id}` } : undefined;
}

export async function startHarnessProcess(dataDir: string): Promise<{ url: string; pid: number }> {
  const child = spawn(
    path.join(REPO_ROOT, 'scripts/with-node.sh'),
    ['node', '--import', path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs'), path.join(REPO_ROOT, 'test/harness/main.ts'), dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the ClickHouse harness exited with ${child.exitCode}`);
      return /clickhouse harness listening at (\S+)/.exec(out)?.[1];
    },
    { timeoutMs: 60_000, what: 'the ClickHouse harness' },
  );
  // Global setup returns while the harness runs on; teardown stops it by pid.
  child.unref();
  child.stdout?.destroy();
  return { url, pid: child.pid as number };
}

export function stopHarnessProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
