/**
 * Starts serving alone (embedded ClickHouse in a temp dir, no Kafka) with one app `st-app`
 * and a few report rows, then prints one line for run.sh:
 *   WEIR_SERVING {"url":…,"app_id":"st-app","read_key":…,"write_key":…,"admin_token":…}
 * Stops and removes its data on SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markCovered } from '../../infra/clickhouse/coverage';
import { startStandaloneServing } from '../../serving/standalone';

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-schemathesis-'));
  const adminToken = randomBytes(16).toString('hex');
  // A high rate limit: schemathesis fires hundreds of requests a second with one key.
  const srv = await startStandaloneServing({ dataDir, adminToken, port: Number(process.env.PORT ?? 0), limits: { rateRequestsPerS: 100_000 } });
  const app = await srv.apps.create('st-app', {});
  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
  // hourly_batch shows the generation of the covering run (migrations/011-batch-generations.sql).
  for (const [table, run] of [['hourly_rt', ''], ['hourly_batch_data', ", 'schemathesis'"]]) {
    await srv.ch.command({
      query: `INSERT INTO ${table} SELECT 'st-app', toDateTime({h:String}, 'UTC') - toIntervalDay(number % 3), 'click', '', 'US', 'iOS', '1.0', '', '', 'fb', 'c1', '', '', toUInt64(1), toInt64(0), uniqExactState(toString(number))${run} FROM numbers(50) GROUP BY number`,
      query_params: { h: hour },
    });
  }
  await markCovered(srv.ch, [new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10)], 'schemathesis');
  process.stdout.write(`WEIR_SERVING ${JSON.stringify({ url: srv.url, app_id: 'st-app', read_key: app.read_key, write_key: app.write_key, admin_token: adminToken })}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await srv.stop();
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
