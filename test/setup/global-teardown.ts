/**
 * Jest global teardown of the integration project: stops the broker global setup started
 * (or the one a test restarted, whichever process that was) and deletes its data directory.
 * Also deletes the run's scratch root of test data directories. Never throws for a broker
 * that is already gone, so a failed run still cleans up.
 */
import { rm } from 'node:fs/promises';
import { stopBrokerByPidFile } from '../../infra/kafka/local-broker';
import { HARNESS_ENV, stopHarnessProcess } from '../support/clickhouse-harness-process';
import { SCRATCH_ENV } from '../support/scratch-dir';
import { ENV } from './test-broker';

export default async function globalTeardown(): Promise<void> {
  const harnessPid = process.env[HARNESS_ENV.pid];
  if (harnessPid) stopHarnessProcess(Number(harnessPid));
  delete process.env[HARNESS_ENV.pid];
  const scratch = process.env[SCRATCH_ENV];
  if (scratch) await rm(scratch, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  delete process.env[SCRATCH_ENV];
  const dataDir = process.env[ENV.dataDir];
  if (!dataDir) return; // external KAFKA_BROKERS, or setup failed and cleaned up itself
  try {
    await stopBrokerByPidFile(dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    delete process.env[ENV.dataDir];
  }
}
