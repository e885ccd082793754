/** Resolves the Kafka broker jars, kafka-tools (for the ingest bench) and the S3Proxy jar from Maven Central into .cache/, once. */
import { ensureKafkaJars, ensureKafkaToolsJar } from '../infra/kafka/local-broker';
import { ensureS3ProxyJar } from '../infra/object-store/s3proxy';
import { CACHE_DIR } from '../infra/paths';

async function main(): Promise<void> {
  const log = (m: string) => process.stderr.write(`setup: ${m}\n`);
  await ensureKafkaJars({ cacheDir: CACHE_DIR, log });
  await ensureKafkaToolsJar({ cacheDir: CACHE_DIR, log });
  await ensureS3ProxyJar(CACHE_DIR);
}

main().catch((err: unknown) => {
  process.stderr.write(`setup: could not provision the jars: ${(err as Error).message}\n`);
  process.exit(1);
});
