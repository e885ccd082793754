/**
 * The real components the scenarios share, started once per run in a work directory of its
 * own: a Kafka broker from the Apache jars, the ClickHouse HTTP harness (a ClickHouse server
 * stand-in over chDB, test/harness; no server binary installs here), and S3Proxy. The broker
 * faults get brokers of their own (`ownBroker`), so the others' topics never see an outage.
 */
import path from 'node:path';
import { startLocalBroker, type LocalBroker } from '../../infra/kafka/local-broker';
import { startS3Proxy } from '../../infra/object-store/s3proxy';
import { CACHE_DIR } from '../../infra/paths';
import { startHarnessProcess, stopHarnessProcess } from '../support/clickhouse-harness-process';
import type { Components } from './deployment';

export interface RunningComponents extends Components {
  /** The shared S3Proxy goes away, and comes back on the same port and data. */
  stopObjectStore(): Promise<void>;
  startObjectStore(): Promise<void>;
  stop(): Promise<void>;
}

export async function startComponents(workDir: string, o: { roles: boolean }): Promise<RunningComponents> {
  const broker = await startLocalBroker({ dataDir: path.join(workDir, 'kafka'), cacheDir: CACHE_DIR });
  // The all-in-one deployment needs neither: its ClickHouse is embedded, its archive file://.
  const harness = o.roles ? await startHarnessProcess(path.join(workDir, 'clickhouse')) : undefined;
  const s3Dir = path.join(workDir, 's3');
  let proxy = o.roles ? await startS3Proxy({ cacheDir: CACHE_DIR, dataDir: s3Dir }) : undefined;
  const first = proxy;
  return {
    brokers: broker.brokers,
    clickhouseUrl: harness?.url,
    s3: first && { endpoint: first.endpoint, accessKeyId: first.accessKey, secretAccessKey: first.secretKey },
    workDir,
    stopObjectStore: async () => {
      await proxy?.stop();
      proxy = undefined;
    },
    startObjectStore: async () => {
      if (!first) throw new Error('no S3Proxy in this run');
      proxy = await startS3Proxy({ cacheDir: CACHE_DIR, dataDir: s3Dir, port: Number(new URL(first.endpoint).port), accessKey: first.accessKey, secretKey: first.secretKey });
    },
    stop: async () => {
      await proxy?.stop();
      if (harness) stopHarnessProcess(harness.pid);
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
