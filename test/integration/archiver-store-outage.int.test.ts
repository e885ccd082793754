/**
 * The object store (a real S3Proxy) goes away while the archiver runs and comes back well past
 * the old give-up point (5 retries, ~6 s): the archiver process stays up, says so in `/ready`
 * and its metrics, and afterwards the archive holds every offset exactly once.
 */
import path from 'node:path';
import { ensureTopics } from '../../infra/kafka/local-broker';
import { REPO_ROOT } from '../../infra/paths';
import { S3ObjectStore } from '../../infra/object-store/s3-store';
import { startS3Proxy, type S3ProxyHandle } from '../../infra/object-store/s3proxy';
import { topicNames } from '../../schemas/topics';
import { testBrokers } from '../setup/test-broker';
import { readArchive } from '../support/archive-reader';
import { removeScratchDir } from '../support/scratch-dir';
import { produce, storedEvents } from '../support/speed-fixture';
import { testEnv } from '../support/test-stack';
import { expectStalledButAlive, metricMax, metricValue } from '../support/metrics';
import { waitFor } from '../support/wait-for';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';

jest.setTimeout(240_000);

describe('archiver during an object store outage', () => {
  const { env, dataDir, prefix } = testEnv();
  const topics = topicNames(prefix);
  const s3Dir = path.join(dataDir, 's3');
  let proxy: S3ProxyHandle | undefined;
  let weir: WeirProcess | undefined;
  afterAll(async () => {
    await weir?.stop('SIGKILL');
    await proxy?.stop();
    removeScratchDir(dataDir);
  });

  it('keeps running, not ready, while S3 is down, and archives everything once after it returns', async () => {
    proxy = await startS3Proxy({ cacheDir: path.join(REPO_ROOT, '.cache'), dataDir: s3Dir });
    const s3 = { endpoint: proxy.endpoint, accessKeyId: proxy.accessKey, secretAccessKey: proxy.secretKey };
    const url = 's3://weir-outage/archive';
    const bucket = new S3ObjectStore({ bucket: 'weir-outage', ...s3 });
    await bucket.ensureBucket();
    bucket.close();
    await ensureTopics(testBrokers(), [
      { topic: topics.events, numPartitions: 2 },
      { topic: topics.dlq, numPartitions: 1 },
    ]);
    weir = await startWeirProcess(['--role', 'archiver'], {
      ...env,
      KAFKA_EVENTS_PARTITIONS: '2',
      OBJECT_STORE_URL: url,
      S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    const w = weir;
    const events = storedEvents(17, 4000);
    const half = Math.floor(events.length / 2);
    await produce(topics.events, events.slice(0, half));
    await waitFor(async () => (await metricValue(w.url, 'weir_archiver_events_total')) >= half || undefined, { timeoutMs: 60_000, what: 'first half archived' });

    const port = Number(new URL(proxy.endpoint).port);
    await proxy.stop();
    proxy = undefined;
    await produce(topics.events, events.slice(half));
    // Seven failed attempts take over 12 s of backoff: past the old give-up point.
    await expectStalledButAlive(w, 'archiver', 7);

    proxy = await startS3Proxy({ cacheDir: path.join(REPO_ROOT, '.cache'), dataDir: s3Dir, port });
    await waitFor(async () => (await metricValue(w.url, 'weir_archiver_events_total')) >= events.length || undefined, { timeoutMs: 60_000, what: 'catch-up after the outage' });
    await waitFor(async () => (await fetch(`${w.url}/ready`)).status === 200 || undefined, { timeoutMs: 30_000, what: 'ready again' });
    expect(await metricValue(w.url, 'weir_archiver_stalled_partitions')).toBe(0);
    await waitFor(async () => (await metricMax(w.url, 'weir_archiver_lag_seconds')) === 0, { timeoutMs: 30_000, what: 'no lag' });

    const archived = await readArchive(url, s3);
    const ids = archived.map((e) => `${e.kafka_partition}:${e.kafka_offset}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(events.length);
    expect(new Set(archived.map((e) => e.event_id))).toEqual(new Set(events.map((e) => e.event_id)));
  });
});
