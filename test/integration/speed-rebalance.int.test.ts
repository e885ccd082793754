/**
 * A second speed-layer instance joins and leaves the group under load: partitions move
 * twice, and afterwards the views hold every event exactly once and every decision equals
 * that of an uninterrupted run (state for moved partitions was restored).
 */
import { Registry } from 'prom-client';
import { createAppRegistry } from '../../infra/apps/app-registry';
import { createClickHouse } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { loadConfig } from '../../infra/config';
import { createKafka, ensureTopics } from '../../infra/kafka/local-broker';
import { createLogger } from '../../infra/logger';
import { startSpeedLayer } from '../../speed-layer/main';
import { testBrokers } from '../setup/test-broker';
import { groupProgress, produce, readEventsRt, rowKey, storedEvents, uninterruptedRowsOf } from '../support/speed-fixture';
import { testEnv } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { createTopicIdLookup } from '../../infra/kafka/topic-id';
import { removeScratchDir } from '../support/scratch-dir';

jest.setTimeout(300_000);

const PARTITIONS = 6;

describe('speed layer rebalance', () => {
  const { env, dataDir } = testEnv();
  const cfg = loadConfig({ ...env, KAFKA_EVENTS_PARTITIONS: String(PARTITIONS) });
  const ch = createClickHouse(cfg);
  afterAll(async () => {
    await ch.close();
    removeScratchDir(dataDir);
  });

  it('keeps every event exactly once and restores moved state when an instance joins and leaves', async () => {
    const topics = cfg.kafka.topics;
    await ensureTopics(testBrokers(), [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.attributions, numPartitions: PARTITIONS },
    ]);
    await migrate(ch.client);
    const apps = createAppRegistry(ch.client, { defaultLookbackDays: 7 });
    const log = createLogger('warn');
    const onFatal = (err: Error) => {
      throw err;
    };
    const instance = (name: string, registry: Registry) =>
      startSpeedLayer(cfg, { kafka: createKafka(testBrokers(), name), ch: ch.client, apps, registry, log, onFatal, topicIdOf: createTopicIdLookup(testBrokers()) });
    const progress = () => groupProgress(topics.events, `${topics.events}-speed`);

    const producing = produce(topics.events, storedEvents(11, 40_000), { chunk: 500, pauseMs: 30 });
    const regA = new Registry();
    const a = await instance('speed-a', regA);
    await waitFor(async () => (await progress()).committed > 3000, { timeoutMs: 60_000, what: 'first instance progress' });
    const regB = new Registry();
    const b = await instance('speed-b', regB);
    const joined = (await progress()).committed;
    await waitFor(async () => (await progress()).committed > joined + 5000, { timeoutMs: 60_000, what: 'progress with two instances' });
    await b.stop();
    await producing;
    await waitFor(async () => {
      const g = await progress();
      return g.committed >= g.end;
    }, { timeoutMs: 120_000, intervalMs: 500, what: 'catch-up after the second instance left' });
    await a.stop();
    apps.close();

    // Only moved partitions are restored: A every partition at start, then at each join the ones
    // that moved to it (B's, when B left), keeping the ones it held; B the ones it was given.
    const restores = async (r: Registry) => Object.fromEntries(((await r.getSingleMetric('weir_speed_partition_restores_total')?.get())?.values ?? []).map((v) => [v.labels.kind, v.value]));
    const [ra, rb] = [await restores(regA), await restores(regB)];
    process.stderr.write(`speed rebalance: A ${JSON.stringify(ra)}, B ${JSON.stringify(rb)}\n`);
    // (A partition B was given but never wrote is kept by A when it comes back: its position
    // did not move.)
    expect(rb.restored).toBeGreaterThan(0);
    expect(ra.restored).toBeGreaterThanOrEqual(PARTITIONS);
    expect(ra.kept).toBeGreaterThan(0);

    const expected = (await uninterruptedRowsOf(topics.events)).map(rowKey).sort();
    const actual = (await readEventsRt(ch.client)).map(rowKey).sort();
    expect(actual.length).toBe(expected.length);
    expect(actual).toEqual(expected);
  });
});
