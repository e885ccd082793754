/**
 * Jest global setup of the integration project: starts one real Kafka broker for every test
 * file, unless KAFKA_BROKERS points at one already. Runs in the jest parent process; the
 * environment variables set here are inherited by the test workers forked afterwards.
 * It also creates the run's scratch root for test data directories (test/support/scratch-dir),
 * and with WEIR_TEST_CLICKHOUSE=harness starts the ClickHouse HTTP harness (the server path).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLocalBroker, stopBrokerByPidFile } from '../../infra/kafka/local-broker';
import { HARNESS_ENV, startHarnessProcess, stopHarnessProcess } from '../support/clickhouse-harness-process';
import { SCRATCH_ENV } from '../support/scratch-dir';
import { CACHE_DIR, ENV } from './test-broker';

const log = (msg: string) => process.stderr.write(`[weir test broker] ${msg}\n`);

export default async function globalSetup(): Promise<void> {
  // Every test's data directory goes under this root; teardown deletes it after the workers exit.
  process.env[SCRATCH_ENV] = await mkdtemp(path.join(os.tmpdir(), 'weir-scratch-'));
  if (process.env[HARNESS_ENV.mode] === 'harness') {
    const harness = await startHarnessProcess(await mkdtemp(path.join(process.env[SCRATCH_ENV], 'clickhouse-harness-')));
    process.env[HARNESS_ENV.url] = harness.url;
    process.env[HARNESS_ENV.pid] = String(harness.pid);
  }
  if (process.env[ENV.brokers]) return;

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'weir-test-'));
  // Set first, so that teardown can clean up whatever part of the start-up succeeded.
  process.env[ENV.dataDir] = dataDir;
  try {
    const broker = await startLocalBroker({ dataDir, cacheDir: CACHE_DIR, log });
    process.env[ENV.brokers] = broker.brokers.join(',');
    process.env[ENV.port] = String(broker.port);
    process.env[ENV.controllerPort] = String(broker.controllerPort);
  } catch (err) {
    // Jest skips global teardown when global setup fails: clean up here, then fail the run.
    await stopBrokerByPidFile(dataDir, { signal: 'SIGKILL' }).catch(() => false);
    if (process.env[HARNESS_ENV.pid]) stopHarnessProcess(Number(process.env[HARNESS_ENV.pid]));
    await rm(dataDir, { recursive: true, force: true });
    await rm(process.env[SCRATCH_ENV] as string, { recursive: true, force: true });
    delete process.env[ENV.dataDir];
    throw err;
  }
}

