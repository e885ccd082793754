/**
 * Two batch schedulers in two processes on one ClickHouse server (the HTTP harness over the
 * real engine: chDB binds a directory to one process), sharing a file:// archive. The lease
 * holder is frozen with SIGSTOP once its run is staged, past its lease; the other scheduler
 * takes the lease and publishes its own run; the first, resumed with SIGCONT, finds its lease
 * gone and writes nothing visible: its days stay uncovered and the views show no row of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createClickHouse, queryRows, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { createObjectStore } from '../../infra/object-store/object-store';
import { REPO_ROOT } from '../../infra/paths';
import { harnessUrl, startHarnessProcess, stopHarnessProcess } from '../support/clickhouse-harness-process';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';
import { waitFor } from '../support/wait-for';
import { appendToArchive, archived } from './batch-test-kit';

const DATABASE = 'weir_tsigstop';
const D = Date.parse('2026-04-10T00:00:00Z');
const DAY = 86_400_000;
const A_DAYS = ['2026-04-08', '2026-04-09', '2026-04-10'];
const B_DAYS = ['2026-04-05', '2026-04-06', '2026-04-07'];

let dir: string;
let url: string;
let ownHarness: number | undefined;
let handle: ClickHouseHandle;

beforeAll(async () => {
  dir = makeScratchDir('weir-batch-sigstop');
  const existing = harnessUrl();
  if (existing) url = existing;
  else ({ url, pid: ownHarness } = await startHarnessProcess(path.join(dir, 'clickhouse')));
  handle = createClickHouse({ dataDir: dir, clickhouse: { url, database: DATABASE } });
  await handle.ensureDatabase();
  await migrate(handle.client);
  const store = createObjectStore(`file://${path.join(dir, 'archive')}`);
  await appendToArchive(
    store,
    Array.from({ length: 60 }, (_, i) => archived({ event_id: `e${i}`, type: 'launch', ts: D - 5 * DAY + i * 2 * 3_600_000, device_id: `d${i % 9}` })),
  );
}, 120_000);

afterAll(async () => {
  await handle?.close();
  if (ownHarness !== undefined) stopHarnessProcess(ownHarness);
  removeScratchDir(dir);
});

function scheduler(owner: string, days: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(
    path.join(REPO_ROOT, 'scripts/with-node.sh'),
    ['node', '--import', 'tsx', path.join(REPO_ROOT, 'test/support/batch-runner-child.ts'), url, DATABASE, path.join(dir, 'archive'), owner, days.join(',')],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out };
}

const runOf = (out: string) => JSON.parse(out.trim().split('\n').pop() as string) as { id: string; status: string; error: string | null };

it('a scheduler frozen past its lease writes nothing after it resumes', async () => {
  const a = scheduler('frozen', A_DAYS);
  await waitFor(() => a.out().includes('staged'), { timeoutMs: 60_000, what: 'the first run staged' });
  a.child.kill('SIGSTOP');
  try {
    await new Promise((r) => setTimeout(r, 3_000)); // past its 2 s lease
    const b = scheduler('other', B_DAYS);
    const bExit = new Promise((r) => b.child.once('exit', r));
    await bExit;
    expect(runOf(b.out())).toMatchObject({ status: 'succeeded' });
  } finally {
    a.child.kill('SIGCONT');
  }
  await new Promise((r) => a.child.once('exit', r));
  const run = runOf(a.out());
  expect(run).toMatchObject({ status: 'failed', error: expect.stringMatching(/lost the batch lease/) });

  const covered = await queryRows<{ d: string }>(handle.client, 'SELECT DISTINCT toString(day) AS d FROM batch_covered_days ORDER BY d');
  expect(covered.map((r) => r.d)).toEqual(B_DAYS);
  const days = await queryRows<{ d: string }>(handle.client, 'SELECT DISTINCT toString(toDate(hour)) AS d FROM hourly_batch ORDER BY d');
  expect(days.map((r) => r.d)).toEqual(B_DAYS);
  const frozenRows = await queryRows<{ n: string }>(handle.client, 'SELECT count() AS n FROM hourly_batch_data WHERE run_id = {run:String}', { run: run.id });
  expect(Number(frozenRows[0].n)).toBe(0);
}, 180_000);
