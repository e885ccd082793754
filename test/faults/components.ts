/**
 * The real components the scenarios share, started once per run in a work directory of its
 * own: a Kafka broker from the Apache jars, the ClickHouse HTTP harness (a ClickHouse server
 * stand-in over chDB, test/harness; no server binary installs here), and S3Proxy. The broker
 * faults get brokers of their own (`ownBroker`), so the others' topics never see an outage.
 */
import path from 'node:path';
import { startLocalBroker, type LocalBroker } from '../../infra/kafka/local-broker';
import { startS3Proxy, type S3ProxyHandle } from '../../infra/object-store/s3proxy';
import { CACHE_DIR } from '../../infra/paths';
import { startHarnessProcess, stopHarnessProcess } from '../support/clickhouse-harness-process';
import type { Components } from './deployment';

export interface RunningComponents extends Components {
  /** The shared S3Proxy goes away, and comes back on the same port and data. */
  stopObjectStore(): Promise<void>;
  startObjectStore(): Promise<void>;
  stop(): Promise<void>;
}

export async function startComponents(workDir: string): Promise<RunningComponents> {
  const broker = await startLocalBroker({ dataDir: path.join(workDir, 'kafka'), cacheDir: CACHE_DIR });
  const harness = await startHarnessProcess(path.join(workDir, 'clickhouse'));
  const s3Dir = path.join(workDir, 's3');
  let proxy: S3ProxyHandle | undefined = await startS3Proxy({ cacheDir: CACHE_DIR, dataDir: s3Dir });
  const { endpoint, accessKey, secretKey } = proxy;
  const port = Number(new URL(endpoint).port);
  return {
    brokers: broker.brokers,
    clickhouseUrl: harness.url,
    s3: { endpoint, accessKeyId: accessKey, secretAccessKey: secretKey },
    workDir,
    stopObjectStore: async () => {
      await proxy?.stop();
      proxy = undefined;
    },
    startObjectStore: async () => {
      proxy = await startS3Proxy({ cacheDir: CACHE_DIR, dataDir: s3Dir, port, accessKey, secretKey });
    },
    stop: async () => {
      await proxy?.stop();
      stopHarnessProcess(harness.pid);
      await broker.stop();
    },
  };
}

/** A broker for one scenario, which it may kill, stop and start again on the same data and ports. */
export interface OwnBroker {
  brokers: string[];
  kill(): Promise<void>;
  /** Controlled shutdown (SIGTERM). */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startOwnBroker(dataDir: string): Promise<OwnBroker> {
  let broker: LocalBroker | undefined = await startLocalBroker({ dataDir, cacheDir: CACHE_DIR });
  const { brokers } = broker;
  return {
    brokers,
    kill: async () => {
      await broker?.kill();
      broker = undefined;
    },
    stop: async () => {
      await broker?.stop();
      broker = undefined;
    },
    start: async () => {
      broker = await startLocalBroker({ dataDir, cacheDir: CACHE_DIR });
    },
  };
}
