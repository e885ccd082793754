/**
 * Run life cycle of the batch layer on real embedded ClickHouse and Arrow archive files: a
 * run killed between staging and swap changes nothing, the admin API's contract, the
 * boundary, and that two schedulers never run at the same time (the run lease).
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { batchAdminRouter } from '../../batch-layer/admin-routes';
import { createBatchRunner, type BatchRunner, type BatchRunnerDeps } from '../../batch-layer/batch-runner';
import { createLease } from '../../infra/clickhouse/lease';
import { createRunStore, type RunStore } from '../../batch-layer/run-store';
import type { RunRecord } from '../../batch-layer/run-types';
import { startBatchSchedule } from '../../batch-layer/schedule';
import { errorMiddleware } from '../../infra/http/errors-middleware';
import { appendToArchive, archived, openBatchTestEnv, snapshotViews, type BatchTestEnv } from './batch-test-kit';
import { waitFor } from '../support/wait-for';

const D = Date.parse('2026-02-10T00:00:00Z');
const H = 3_600_000;
const log = pino({ level: 'silent' });
const ADMIN = 'batch-runs-admin-token';

let env: BatchTestEnv;
let runs: RunStore;

function makeRunner(name: string, hooks?: BatchRunnerDeps['hooks'], opts: { heartbeatMs?: number; runs?: RunStore } = {}): BatchRunner {
  return createBatchRunner(
    { recomputeDays: 2, graceMinutes: 15, ipBlocklist: [], lookbackDays: 7, horizonDays: 7, catchUpTimeoutMs: 2_000, heartbeatMs: opts.heartbeatMs },
    {
      ch: env.ch,
      store: env.store,
      runs: opts.runs ?? runs,
      lease: createLease(env.ch, { holder: name, settleMs: 50, retryMs: 50 }),
      watermarks: async () => ({}),
      owner: name,
      log,
      hooks,
    },
  );
}

async function traffic(day: number, n: number, tag: string) {
  const rows = Array.from({ length: n }, (_, i) =>
    archived({ event_id: `${tag}-${i}`, type: i % 5 === 0 ? 'install' : i % 5 === 1 ? 'click' : 'launch', ts: day + (i % 24) * H + i, device_id: `d${i % 7}`, channel: 'ch', campaign_id: 'c' }),
  );
  await appendToArchive(env.store, rows);
}

beforeAll(async () => {
  env = await openBatchTestEnv();
  runs = createRunStore(env.ch);
  await traffic(D - 86_400_000, 50, 'a');
  await traffic(D, 80, 'b');
});

afterAll(async () => {
  await env?.close();
});

describe('batch runs', () => {
  it('is never recorded as succeeded without its attribution diff and drift, whenever its heartbeat saves it', async () => {
    // A heartbeat every 20 ms saves the record, also while the diff and the drift are measured.
    const saved: Pick<RunRecord, 'status' | 'attribution_diff' | 'drift'>[] = [];
    const recording: RunStore = {
      ...runs,
      save: async (r) => {
        saved.push({ status: r.status, attribution_diff: r.attribution_diff, drift: r.drift });
        await runs.save(r);
      },
    };
    const runner = makeRunner('heartbeat', undefined, { heartbeatMs: 20, runs: recording });
    try {
      expect(await runner.runDay('2026-02-10')).toMatchObject({ status: 'succeeded' });
    } finally {
      await runner.stop();
    }
    expect(saved.filter((r) => r.status === 'running').length).toBeGreaterThan(1);
    expect(saved.filter((r) => r.status === 'succeeded' && (r.attribution_diff === null || r.drift === null))).toEqual([]);
  });

  it('leaves views and boundary untouched when a run dies between staging and swap, and the next run succeeds', async () => {
    let kill = false;
    const runner = makeRunner('killer', {
      beforeSwap: async () => {
        if (kill) throw new Error('killed between staging and swap');
      },
    });
    const ok = await runner.runDay('2026-02-10');
    expect(ok).toMatchObject({ status: 'succeeded', error: null });
    const views = await snapshotViews(env.ch);
    const boundary = await runs.boundary();
    expect(boundary).toEqual({ boundary: '2026-02-11T00:00:00Z', covered_days: ['2026-02-08', '2026-02-09', '2026-02-10'] });

    await traffic(D, 30, 'c'); // new data the killed run would have swapped in
    kill = true;
    const killed = await runner.runDay('2026-02-10');
    expect(killed).toMatchObject({ status: 'failed', error: 'killed between staging and swap' });
    expect(await snapshotViews(env.ch)).toEqual(views);
    expect(await runs.boundary()).toEqual(boundary);

    kill = false;
    const next = await runner.runDay('2026-02-10');
    expect(next.status).toBe('succeeded');
    expect(await snapshotViews(env.ch)).not.toEqual(views);
    await runner.stop();
  });

  it('serves the admin API: 202, 409 on overlap and open days, 400, 404, 401, boundary', async () => {
    const runner = makeRunner('admin');
    const app = express().use(batchAdminRouter({ runner, runs, adminToken: ADMIN })).use(errorMiddleware(log));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON answers
    const call = async (method: string, path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: any }> => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    };
    try {
      expect((await call('GET', '/v1/admin/boundary', undefined, 'wrong')).status).toBe(401);
      expect((await call('POST', '/v1/admin/batch/runs', { day: '2026-02-30' })).status).toBe(400);
      expect((await call('POST', '/v1/admin/batch/runs', { day: "2026-01-01' OR 1=1" })).status).toBe(400);
      expect((await call('POST', '/v1/admin/batch/runs', { day: '2026-01-01', extra: 1 })).status).toBe(400);
      // No event is before 2000: such a run is refused and covers nothing.
      const before2000 = await call('POST', '/v1/admin/batch/runs', { day: '1999-01-01' });
      expect(before2000.status).toBe(400);
      expect(before2000.json.error.message).toMatch(/from 2000-01-01/);
      expect((await call('GET', '/v1/admin/boundary')).json.covered_days).not.toContain('1999-01-01');
      const today = new Date().toISOString().slice(0, 10);
      const open = await call('POST', '/v1/admin/batch/runs', { day: today });
      expect(open.status).toBe(409);
      expect(open.json.error.message).toMatch(/not closed/);

      const accepted = await call('POST', '/v1/admin/batch/runs', { day: '2026-02-09' });
      expect(accepted.status).toBe(202);
      expect(accepted.json.run).toMatchObject({ day: '2026-02-09', days: ['2026-02-07', '2026-02-08', '2026-02-09'], status: 'queued' });
      const overlap = await call('POST', '/v1/admin/batch/runs', { day: '2026-02-11' });
      expect(overlap.status).toBe(409);
      expect(overlap.json.error.message).toMatch(accepted.json.run.id);

      const done = await waitFor(async () => {
        const r = await call('GET', `/v1/admin/batch/runs/${accepted.json.run.id}`);
        return r.json.status === 'succeeded' ? r.json : undefined;
      });
      expect(done).toMatchObject({ rows_read: expect.any(Number), input_files: expect.any(Number), started_at: expect.any(String), finished_at: expect.any(String) });
      expect((await call('GET', '/v1/admin/batch/runs')).json.runs.map((r: { id: string }) => r.id)).toContain(done.id);
      expect((await call('GET', '/v1/admin/batch/runs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
      expect((await call('GET', '/v1/admin/batch/runs/not-an-id')).status).toBe(404);
      expect((await call('GET', '/v1/admin/boundary')).json.covered_days).toContain('2026-02-07');
    } finally {
      server.close();
      await runner.stop();
    }
  });

  it('never runs two runs at once across two schedulers', async () => {
    const a = makeRunner('scheduler-a');
    const b = makeRunner('scheduler-b');
    // Covered up to 02-10; at 02-15 00:00 the latest day closed plus grace is 02-13: one run
    // for 02-13 (window 02-11 … 02-13) from each scheduler, never at the same time.
    const now = () => D + 5 * 86_400_000;
    const schedules = await Promise.all(
      [a, b].map((runner) => startBatchSchedule({ cron: '0 0 1 1 *', graceMinutes: 15, recomputeDays: 2 }, { runner, runs, log, now })),
    );
    await waitFor(async () => (await runs.active()).length === 0, { timeoutMs: 60_000 });
    const all = (await runs.list(1000)).filter((r) => r.started_at !== null).sort((x, y) => x.started_at!.localeCompare(y.started_at!));
    expect(all.map((r) => [r.day, r.status, r.error])).toContainEqual(['2026-02-13', 'succeeded', null]);
    for (let i = 1; i < all.length; i++) expect(all[i].started_at! >= all[i - 1].finished_at!).toBe(true);
    await Promise.all(schedules.map((s) => s.stop()));
    await Promise.all([a.stop(), b.stop()]);
  });
});
