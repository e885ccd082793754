/**
 * The shared test broker, as seen from inside a test worker. Global setup started it in the
 * jest parent process, so a worker cannot hold its handle: it reaches the broker through the
 * pid file and the ports stored in its data directory, both found through environment
 * variables that global setup set before the workers were forked.
 */
import path from 'node:path';
import { startLocalBroker, stopBrokerByPidFile, type LocalBroker } from '../../infra/kafka/local-broker';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Where the Kafka jars are cached between runs (git-ignored). */
export const CACHE_DIR = path.join(REPO_ROOT, '.cache');

export const ENV = {
  brokers: 'KAFKA_BROKERS',
  dataDir: 'WEIR_TEST_KAFKA_DATA_DIR',
  port: 'WEIR_TEST_KAFKA_PORT',
  controllerPort: 'WEIR_TEST_KAFKA_CONTROLLER_PORT',
} as const;

/** The brokers every integration test talks to: global setup's own broker, or KAFKA_BROKERS. */
export function testBrokers(): string[] {
  const brokers = process.env[ENV.brokers];
  if (!brokers) throw new Error(`${ENV.brokers} is not set: run integration tests through jest's integration project (its global setup starts a broker)`);
  return brokers.split(',').map((b) => b.trim()).filter(Boolean);
}

/** False when the tests run against external brokers (KAFKA_BROKERS given): those we must not stop. */
export function canControlTestBroker(): boolean {
  return Boolean(process.env[ENV.dataDir]);
}

export function testBrokerDataDir(): string {
  const dataDir = process.env[ENV.dataDir];
  if (!dataDir) throw new Error(`no local test broker to control: ${ENV.brokers} was given, so global setup started none`);
  return dataDir;
}

/**
 * Simulates an outage: SIGTERM (controlled shutdown) and waits until the process is gone.
 * Every test file running at the same time loses the broker too: keep outage tests in a
 * run that is serial (`--runInBand`) or alone.
 */
export async function stopTestBroker(): Promise<void> {
  await stopBrokerByPidFile(testBrokerDataDir());
}

/** A crash rather than a shutdown: the next start then waits ~13 s for the old session to expire. */
export async function killTestBroker(): Promise<void> {
  await stopBrokerByPidFile(testBrokerDataDir(), { signal: 'SIGKILL' });
}

/**
 * Starts the test broker again on the same data directory and ports, so its data and the
 * brokers in KAFKA_BROKERS stay valid. Global teardown stops it through the pid file, even
 * though this worker started it.
 */
export async function restartTestBroker(): Promise<LocalBroker> {
  const dataDir = testBrokerDataDir();
  return startLocalBroker({
    dataDir,
    cacheDir: CACHE_DIR,
    port: Number(process.env[ENV.port]) || undefined,
    controllerPort: Number(process.env[ENV.controllerPort]) || undefined,
  });
}
