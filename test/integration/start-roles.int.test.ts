/**
 * `weir start --role …`: the roles as separate processes sharing one Kafka (the test broker,
 * one topic prefix) and one object store (file://), as an operator would run them.
 *
 * What the embedded default allows (cli/start.ts without CLICKHOUSE_URL): every role but the
 * archiver opens the embedded ClickHouse (chDB) in its process's DATA_DIR, and chDB binds one
 * data directory per process. So the roles that share the views (speed writes them, batch
 * replaces them, serving reads them) run in one process, `--role speed --role batch --role
 * serving` (`--role` repeats); the archiver runs alone (it needs only Kafka and the store);
 * ingest runs alone with a chDB of its own that holds only its app registry, so the app is
 * registered with the ingest process (write key) and with the serving process (read key, and
 * the settings the speed layer applies). With a ClickHouse server (CLICKHOUSE_URL) each role
 * runs alone against one registry: `npm run test:server` runs the end-to-end suites that way,
 * against the ClickHouse HTTP harness (test/harness).
 *
 * Verified: each process answers only its own roles' routes and is ready; events sent to the
 * ingest process reach the speed views (serving answers them, `source: "speed"`); the
 * archiver process writes the master dataset that a batch run in the third process reads (the
 * day is then answered from batch, exactly as the reference says); SIGTERM stops every
 * process with exit code 0. A serving-only process starts and is ready with no Kafka at all.
 */
import path from 'node:path';
import { generateEventArray } from '../../ingest/load-generator/generate-events';
import { sendEvents } from '../../ingest/load-generator/send-events';
import { topicNames } from '../../schemas/topics';
import { DAY_MS } from '../reference/attribution';
import { buildReferenceModel, METRICS, referenceReport } from '../reference/reports';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';
import { groupProgress } from '../support/speed-fixture';
import { createTestApp, cronAwayFromNow, runBatchDay, testEnv, topicEvents } from '../support/test-stack';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180_000);

const DAY = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const APP = 'roles';

describe('weir start --role: one role per process', () => {
  // testEnv's data directory holds only the shared archive; each process gets its own DATA_DIR.
  const { env, prefix, dataDir: storeDir } = testEnv({ BATCH_CRON: cronAwayFromNow() });
  env.OBJECT_STORE_URL = `file://${path.join(storeDir, 'archive')}`;
  const dirs: string[] = [storeDir];
  const procs: Record<'ingest' | 'archiver' | 'views', WeirProcess | undefined> = { ingest: undefined, archiver: undefined, views: undefined };
  const start = (roles: string[]) => {
    const dir = makeScratchDir(`weir-role-${roles.join('-')}`);
    dirs.push(dir);
    return startWeirProcess(roles.flatMap((r) => ['--role', r]), { ...env, DATA_DIR: dir });
  };

  beforeAll(async () => {
    // One after another: three chDB start-ups at once on two cores take longer than in turn.
    procs.ingest = await start(['ingest']);
    procs.archiver = await start(['archiver']);
    procs.views = await start(['speed', 'batch', 'serving']);
  });

  afterAll(async () => {
    await Promise.all(Object.values(procs).map((p) => p?.stop('SIGKILL')));
    dirs.forEach(removeScratchDir);
  });

  it('moves events from the ingest process through Kafka, the archiver process and the views process to the API', async () => {
    const { ingest, archiver, views } = procs as Record<keyof typeof procs, WeirProcess>;
    const adminToken = env.ADMIN_TOKEN as string;
    for (const p of [ingest, archiver, views]) expect((await fetch(`${p.url}/ready`)).status).toBe(200);
    // Each process serves only its roles' routes.
    expect((await fetch(`${ingest.url}/v1/apps/${APP}/reports/daily`)).status).toBe(404);
    expect((await fetch(`${views.url}/v1/events`, { method: 'POST' })).status).toBe(404);

    const writeKey = (await createTestApp({ url: ingest.url, adminToken }, { app_id: APP })).write_key;
    const readKey = (await createTestApp({ url: views.url, adminToken }, { app_id: APP })).read_key;
    const generated = generateEventArray({ seed: 11, apps: [APP], startMs: DAY, endMs: DAY + DAY_MS - 1, events: 600, edgeCases: false });
    const sent = await sendEvents(generated, { url: ingest.url, keys: { [APP]: writeKey }, concurrency: 2 });
    expect(sent).toMatchObject({ failedBatches: 0, rejected: [] });

    const topic = topicNames(prefix).events;
    await waitFor(async () => {
      const g = await groupProgress(topic, `${topic}-speed`);
      return g.end > 0 && g.committed >= g.end;
    }, { timeoutMs: 60_000, what: 'speed layer catch-up' });
    const model = buildReferenceModel(await topicEvents(topic));
    const daily = async (metrics: readonly string[]) => {
      const q = new URLSearchParams({ from: dayOf(DAY), to: dayOf(DAY + DAY_MS), metrics: metrics.join(',') });
      const res = await fetch(`${views.url}/v1/apps/${APP}/reports/daily?${q}`, { headers: { authorization: `Bearer ${readKey}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
    };
    const reference = (metrics: readonly (typeof METRICS)[number][], source: string) =>
      referenceReport({ model, appId: APP, granularity: 'daily', from: DAY, to: DAY + DAY_MS, metrics }).map((r) => ({ ...r, source }));

    // Speed: metrics that do not depend on attribution are exact.
    const exact = ['events', 'uv', 'clicks', 'purchases', 'revenue'] as const;
    expect(await daily(exact)).toEqual(reference(exact, 'speed'));
    expect(model.winners.length).toBeGreaterThan(500);

    // Batch: only the archiver process wrote the archive this run reads.
    const run = await runBatchDay({ url: views.url, adminToken }, dayOf(DAY));
    expect(run).toMatchObject({ status: 'succeeded', error: null, rows_read: (await topicEvents(topic)).length });
    expect(await daily(METRICS)).toEqual(reference(METRICS, 'batch'));

    for (const [name, p] of Object.entries({ ingest, archiver, views })) {
      const code = await p.stop('SIGTERM');
      expect([name, code, code === 0 ? '' : p.stderr()]).toEqual([name, 0, '']);
    }
  });

  it('starts a serving-only process without Kafka: it never connects to the brokers', async () => {
    // Nothing listens on port 9: a process that waited for Kafka would fail its start.
    const dir = makeScratchDir('weir-role-serving');
    dirs.push(dir);
    const serving = await startWeirProcess(['--role', 'serving'], { ...env, KAFKA_BROKERS: '127.0.0.1:9', DATA_DIR: dir });
    try {
      const ready = await fetch(`${serving.url}/ready`);
      expect(ready.status).toBe(200);
      expect(JSON.stringify(await ready.json())).not.toMatch(/kafka/i);
    } finally {
      expect(await serving.stop('SIGTERM')).toBe(0);
    }
  });
});
