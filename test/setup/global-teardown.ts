/**
 * Jest global teardown of the integration project: stops the broker global setup started
 * (or the one a test restarted, whichever process that was) and deletes its data directory.
 * Never throws for a broker that is already gone, so a failed run still cleans up.
 */
import { rm } from 'node:fs/promises';
import { stopBrokerByPidFile } from '../../infra/kafka/local-broker';
import { ENV } from './test-broker';

export default async function globalTeardown(): Promise<void> {
  const dataDir = process.env[ENV.dataDir];
  if (!dataDir) return; // external KAFKA_BROKERS, or setup failed and cleaned up itself
  try {
    await stopBrokerByPidFile(dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    delete process.env[ENV.dataDir];
  }
}
