/**
 * The speed layer's writes fail for a while with a non-Kafka error (its embedded ClickHouse
 * reads events_rt rows from a staging directory, which is replaced by a plain file): the
 * process stays up, says so in `/ready` and its metrics, and once the directory is back every
 * event is in events_rt exactly once and the views were fed once per row.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createClickHouse } from '../../infra/clickhouse/client';
import { ensureTopics } from '../../infra/kafka/local-broker';
import { topicNames } from '../../schemas/topics';
import { testBrokers } from '../setup/test-broker';
import { groupCaughtUp, produce, readEventsRt, rowKey, storedEvents, uninterruptedRowsOf } from '../support/speed-fixture';
import { testEnv } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { removeScratchDir } from '../support/scratch-dir';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';
import { expectStalledButAlive, metricMax } from '../support/metrics';

jest.setTimeout(240_000);

describe('speed layer during a write outage', () => {
  const { env, dataDir, prefix } = testEnv();
  const topics = topicNames(prefix);
  const staging = path.join(dataDir, 'speed-staging');
  const caughtUp = () => groupCaughtUp(topics.events, `${topics.events}-speed`);
  let weir: WeirProcess | undefined;
  afterAll(async () => {
    await weir?.stop('SIGKILL');
    removeScratchDir(dataDir);
  });

  it('keeps running, not ready, while writes fail, and writes every event once after', async () => {
    await ensureTopics(testBrokers(), [
      { topic: topics.events, numPartitions: 2 },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.attributions, numPartitions: 2 },
    ]);
    weir = await startWeirProcess(['--role', 'speed'], { ...env, KAFKA_EVENTS_PARTITIONS: '2' }, 120_000);
    const w = weir;
    const events = storedEvents(23, 4000);
    const half = Math.floor(events.length / 2);
    await produce(topics.events, events.slice(0, half));
    await waitFor(caughtUp, { timeoutMs: 60_000, what: 'first half written' });

    await fs.rename(staging, `${staging}.away`);
    await fs.writeFile(staging, 'not a directory');
    await produce(topics.events, events.slice(half));
    await expectStalledButAlive(w, 'speed', 4);

    await fs.rm(staging);
    await fs.rename(`${staging}.away`, staging);
    await waitFor(async () => (await fetch(`${w.url}/ready`)).status === 200 || undefined, { timeoutMs: 60_000, what: 'ready again' });
    await waitFor(caughtUp, { timeoutMs: 60_000, what: 'catch-up' });
    await waitFor(async () => (await metricMax(w.url, 'weir_speed_lag_seconds')) === 0, { timeoutMs: 30_000, what: 'no lag' });
    expect(await w.stop('SIGTERM')).toBe(0);
    weir = undefined;

    const expected = (await uninterruptedRowsOf(topics.events)).map(rowKey).sort();
    const ch = createClickHouse({ dataDir, clickhouse: { url: undefined, database: 'weir' } });
    try {
      expect((await readEventsRt(ch.client)).map(rowKey).sort()).toEqual(expected);
      const rs = await ch.client.query({ query: 'SELECT (SELECT sum(events) FROM hourly_rt) AS hourly, (SELECT count() FROM events_rt) AS raw', format: 'JSONEachRow' });
      const [totals] = await rs.json<{ hourly: string; raw: string }>();
      expect(Number(totals.hourly)).toBe(Number(totals.raw));
    } finally {
      await ch.close();
    }
  });
});
