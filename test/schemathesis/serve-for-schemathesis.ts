/**
 * Starts weir with every role (the local Kafka broker unless KAFKA_BROKERS is set, embedded
 * ClickHouse and a file archive in a temp dir) with one app `st-app` and a few report rows,
 * then prints one line for run.sh:
 *   WEIR_SERVING {"url":…,"app_id":"st-app","read_key":…,"write_key":…,"admin_token":…}
 * Every operation of the OpenAPI document is served, so every one can be fuzzed: the read
 * routes, the collector and Segment routes (which need Kafka) and the admin routes (which need
 * the batch layer). Stops and removes its data on SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startWeir } from '../../cli/start';
import { markCovered } from '../../infra/clickhouse/coverage';
import { loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-schemathesis-'));
  const adminToken = randomBytes(16).toString('hex');
  const away = new Date(Date.now() + 12 * 3_600_000); // no scheduled batch run while fuzzing
  const cfg = loadConfig({
    DATA_DIR: dataDir,
    PORT: process.env.PORT ?? '0',
    ADMIN_TOKEN: adminToken,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    KAFKA_TOPIC_PREFIX: `st${randomBytes(3).toString('hex')}-`,
    // High limits: schemathesis fires hundreds of requests a second with one key.
    RATE_LIMIT_REQUESTS_PER_S: '100000',
    RATE_LIMIT_EVENTS_PER_S: '10000000',
    BATCH_CRON: `${away.getUTCMinutes()} ${away.getUTCHours()} * * *`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const running = await startWeir(cfg, { demo: false }, createLogger(cfg.logLevel));
  const ch = running.clickhouse;
  if (!ch) throw new Error('weir started without ClickHouse');
  const created = await fetch(`${running.adminUrl}/v1/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: 'st-app' }),
  });
  const app = (await created.json()) as { write_key: string; read_key: string };
  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
  // hourly_batch shows the generation of the covering run (migrations/011-batch-generations.sql).
  for (const [table, run] of [['hourly_rt', ''], ['hourly_batch_data', ", 'schemathesis'"]]) {
    await ch.command({
      query: `INSERT INTO ${table} SELECT 'st-app', toDateTime({h:String}, 'UTC') - toIntervalDay(number % 3), 'click', '', 'US', 'iOS', '1.0', '', '', 'fb', 'c1', '', '', toUInt64(1), toInt64(0), uniqExactState(toString(number))${run} FROM numbers(50) GROUP BY number`,
      query_params: { h: hour },
    });
  }
  await markCovered(ch, [new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10)], 'schemathesis');
  process.stdout.write(`WEIR_SERVING ${JSON.stringify({ url: running.url, app_id: 'st-app', read_key: app.read_key, write_key: app.write_key, admin_token: adminToken })}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await running.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
