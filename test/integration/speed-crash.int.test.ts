/**
 * The speed layer is killed with SIGKILL at random points under load, five times, and
 * restarted; afterwards the views hold every event exactly once (nothing missing, nothing
 * counted twice) and every decision equals that of an uninterrupted run, which shows the
 * attribution state was restored, not rebuilt from scratch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createClickHouse } from '../../infra/clickhouse/client';
import { loadConfig } from '../../infra/config';
import { ensureTopics } from '../../infra/kafka/local-broker';
import { REPO_ROOT } from '../../infra/paths';
import { topicNames } from '../../schemas/topics';
import { testBrokers } from '../setup/test-broker';
import { groupProgress, produce, readEventsRt, rowKey, storedEvents, uninterruptedRowsOf } from '../support/speed-fixture';
import { testEnv } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { removeScratchDir } from '../support/scratch-dir';

jest.setTimeout(420_000);

const PARTITIONS = 4;

describe('speed layer under SIGKILL', () => {
  const { env, dataDir, prefix } = testEnv();
  const topics = topicNames(prefix);
  const groupId = `${topics.events}-speed`;
  let child: ChildProcess | undefined;
  const stderrOf = new Map<ChildProcess, string>();

  const start = () => {
    child = spawn(path.join(REPO_ROOT, 'bin/weir'), ['start', '--role', 'speed'], {
      env: { ...env, KAFKA_EVENTS_PARTITIONS: String(PARTITIONS) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const p = child;
    stderrOf.set(p, '');
    p.stderr?.on('data', (d: Buffer) => stderrOf.set(p, ((stderrOf.get(p) ?? '') + d.toString()).slice(-20_000)));
    return p;
  };
  const stop = async (p: ChildProcess, signal: NodeJS.Signals) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  };
  const progress = () => groupProgress(topics.events, groupId).catch(() => ({ committed: 0, end: 1 }));

  afterAll(async () => {
    if (child) await stop(child, 'SIGKILL');
    removeScratchDir(dataDir);
  });

  it('misses no event and counts none twice across five SIGKILLs', async () => {
    await ensureTopics(testBrokers(), [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.attributions, numPartitions: PARTITIONS },
    ]);
    const events = storedEvents(7, 40_000);
    // Spread over about a minute, so every kill lands while events keep arriving.
    const producing = produce(topics.events, events, { chunk: 500, pauseMs: 600 });

    let before = 0;
    for (let k = 0; k < 5; k++) {
      const p = start();
      // Once it has restored and written since the last kill, kill it at a random point.
      await waitFor(
        async () => {
          const g = await progress();
          return g.committed > before || g.committed >= g.end;
        },
        { timeoutMs: 90_000, intervalMs: 200, what: 'speed layer progress' },
      );
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 600)));
      await stop(p, 'SIGKILL');
      before = (await progress()).committed;
    }
    await producing;
    const last = start();
    await waitFor(() => stderrOf.get(last)?.includes('weir is running'), { timeoutMs: 60_000, what: 'speed process start-up' });
    await waitFor(async () => {
      const g = await progress();
      return g.committed >= g.end;
    }, { timeoutMs: 180_000, intervalMs: 500, what: 'speed layer catch-up' });
    await stop(last, 'SIGTERM');
    expect(last.exitCode).toBe(0);

    const expected = (await uninterruptedRowsOf(topics.events)).map(rowKey).sort();

    // The process's own embedded data directory, or the harness's database (npm run test:server).
    const ch = createClickHouse(loadConfig(env));
    try {
      const actual = (await readEventsRt(ch.client)).map(rowKey).sort();
      expect(actual.length).toBe(expected.length);
      expect(actual).toEqual(expected);
      // The views were fed exactly once per written row.
      const rs = await ch.client.query({
        query: `SELECT (SELECT sum(events) FROM hourly_rt) AS hourly, (SELECT count() FROM events_rt) AS raw`,
        format: 'JSONEachRow',
      });
      const [totals] = await rs.json<{ hourly: string; raw: string }>();
      // On a mismatch, say where: rows per partition, view progress, and the hours that differ.
      if (Number(totals.hourly) !== Number(totals.raw)) {
        for (const q of [
          `SELECT kafka_partition, count() n, min(kafka_offset) lo, max(kafka_offset) hi FROM events_rt GROUP BY kafka_partition ORDER BY 1`,
          `SELECT kafka_partition, groupArray(views_through) FROM (SELECT * FROM speed_progress ORDER BY views_through) GROUP BY kafka_partition ORDER BY 1`,
          `SELECT h, r, v FROM (SELECT toStartOfHour(ts) h, count() r FROM events_rt GROUP BY h) AS a FULL JOIN (SELECT hour h, sum(events) v FROM hourly_rt GROUP BY h) AS b USING h WHERE r != v ORDER BY h`,
        ]) process.stderr.write(`DBG ${JSON.stringify(await (await ch.client.query({ query: q, format: 'JSONCompactEachRow' })).json())}\n`);
      }
      expect(Number(totals.hourly)).toBe(Number(totals.raw));
    } finally {
      await ch.close();
    }
  });
});
