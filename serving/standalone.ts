/**
 * Serving alone on an embedded ClickHouse (or a server, when given), without Kafka: ClickHouse + migrations + app
 * registry + the serving router + admin app routes, behind infra's HTTP server (health,
 * ready, metrics, errors). For integration tests, the schemathesis run and local API work;
 * `weir start` composes the real process in cli/start.ts.
 */
import http from 'node:http';
import { adminAppsRouter } from '../infra/apps/admin-routes';
import { createAppRegistry, type AppRegistry } from '../infra/apps/app-registry';
import { createClickHouse, type ClickHouseClient } from '../infra/clickhouse/client';
import { migrate } from '../infra/clickhouse/migrate';
import { DEFAULT_REPORT_CACHE_MB, type Config } from '../infra/config';
import { createHttpApp } from '../infra/http/http-server';
import { createLogger, type Logger } from '../infra/logger';
import { createMetricsRegistry } from '../infra/metrics';
import { startServing } from './main';

export interface StandaloneServing {
  url: string;
  ch: ClickHouseClient;
  apps: AppRegistry;
  stop(): Promise<void>;
}

export const DEFAULT_LIMITS: Config['limits'] = {
  maxBodyBytes: 1_048_576,
  maxBatchEvents: 1000,
  rateEventsPerS: 100_000,
  rateRequestsPerS: 50,
  maxStreamsPerKey: 10,
  maxReportDaysHourly: 31,
  maxReportDaysDaily: 400,
  maxReportRows: 10_000,
};

export async function startStandaloneServing(opts: {
  dataDir: string;
  adminToken: string;
  port?: number;
  host?: string;
  limits?: Partial<Config['limits']>;
  corsOrigins?: string[];
  /** Segment cache of reports (REPORT_CACHE_MB), default DEFAULT_REPORT_CACHE_MB. */
  reportCacheMb?: number;
  log?: Logger;
  now?: () => number;
  /** A ClickHouse server (tests of the server path); unset: embedded chDB in `dataDir`. */
  clickhouse?: Config['clickhouse'];
}): Promise<StandaloneServing> {
  const log = opts.log ?? createLogger('warn');
  const handle = createClickHouse({ dataDir: opts.dataDir, clickhouse: opts.clickhouse ?? { url: undefined, database: 'weir' } });
  const stops: (() => Promise<void>)[] = [handle.close];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    await handle.ensureDatabase();
    await migrate(handle.client, { lock: handle.kind === 'server' });
    const apps = createAppRegistry(handle.client, { defaultLookbackDays: 7 });
    stops.push(async () => apps.close());
    const registry = createMetricsRegistry();
    const serving = await startServing(
      { limits: { ...DEFAULT_LIMITS, ...opts.limits }, corsOrigins: opts.corsOrigins ?? [], reportCacheMb: opts.reportCacheMb ?? DEFAULT_REPORT_CACHE_MB },
      { ch: handle.client, apps, registry, log, now: opts.now },
    );
    const app = createHttpApp({
      routers: [serving.router, adminAppsRouter({ apps, adminToken: opts.adminToken })],
      checks: { clickhouse: async () => void (await handle.client.ping()) },
      registry,
      log,
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
    });
    // Streams end first, so the server's close is not held open by them.
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
      serving.stop,
    );
    const { port } = server.address() as { port: number };
    return { url: `http://${opts.host ?? '127.0.0.1'}:${port}`, ch: handle.client, apps, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
