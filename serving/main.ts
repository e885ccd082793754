/**
 * The serving role: the read API of DESIGN.md section 7 (reports, real-time, live stream,
 * top errors, attributions), its OpenAPI document and docs page. Returns a router for the
 * process's HTTP server (infra/http/http-server.ts) and a stop that closes live streams.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { Router } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { AppRegistry } from '../infra/apps/app-registry';
import type { Config } from '../infra/config';
import { RateLimiter } from '../infra/http/rate-limiter';
import type { Logger } from '../infra/logger';
import { registerAttributionsRoute, ATTRIBUTIONS_SPEC } from './attributions/attributions-route';
import { corsMiddleware } from '../infra/http/cors';
import { readAccess } from './http/read-access';
import { registerOpenApiRoutes } from './openapi/openapi-routes';
import { PLATFORM_SPECS } from './openapi/platform-routes';
import { createLiveHub } from './realtime/live-stream';
import { REALTIME_SPEC, STREAM_SPEC, TOP_ERRORS_SPEC, registerRealtimeRoutes, registerStreamRoute } from './realtime/realtime-routes';
import { REPORT_SPECS, registerReportRoutes } from './reports/report-routes';
import { createSegmentCache } from './reports/segment-cache';

export interface ServingConfig extends Pick<Config, 'limits' | 'reportCacheMb'> {
  /** Origins allowed to call the read API from a browser; '*' for any; empty: no CORS. */
  corsOrigins: string[];
}

export interface ServingDeps {
  ch: ClickHouseClient;
  apps: AppRegistry;
  registry: Registry;
  log: Logger;
  /** Clock for real-time windows and the rate limiter (tests pin it). */
  now?: () => number;
}

export interface ServingHandle {
  router: Router;
  stop(): Promise<void>;
}

/** Every route of the HTTP interface, for the OpenAPI document. */
export const SERVING_SPECS = [REPORT_SPECS.hourly, REPORT_SPECS.daily, REALTIME_SPEC, STREAM_SPEC, TOP_ERRORS_SPEC, ATTRIBUTIONS_SPEC];

export async function startServing(cfg: ServingConfig, deps: ServingDeps): Promise<ServingHandle> {
  const log = deps.log.child({ layer: 'serving' });
  const now = deps.now ?? Date.now;
  const router = Router();
  const metrics = servingMetrics(deps.registry);

  const cors = corsMiddleware(cfg.corsOrigins, 'GET');
  router.use(['/v1/apps', '/openapi.json', '/docs'], cors);
  router.use('/v1/apps', (req, res, next) => {
    const end = metrics.duration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ route });
      metrics.requests.inc({ route, status: String(res.statusCode) });
    });
    next();
  });

  const limiter = new RateLimiter(cfg.limits.rateRequestsPerS, now);
  const accessDeps = { apps: deps.apps, limiter, ratePerS: cfg.limits.rateRequestsPerS };
  const access = readAccess(accessDeps, { allowQueryKey: false });
  const hub = createLiveHub({
    ch: deps.ch,
    log,
    now,
    maxStreamsPerKey: cfg.limits.maxStreamsPerKey,
    // A key that cannot be judged (ClickHouse down, key not in memory) keeps its stream until a later tick can.
    keyValid: async (appId, key) => (await deps.apps.authenticate(key, 'read').catch(() => ({ app_id: appId })))?.app_id === appId,
  });

  const cache = createSegmentCache(cfg.reportCacheMb * 1024 * 1024, deps.registry);
  registerReportRoutes(router, access, { ch: deps.ch, limits: cfg.limits, cache });
  registerRealtimeRoutes(router, access, { ch: deps.ch, now });
  registerStreamRoute(router, readAccess(accessDeps, { allowQueryKey: true }), hub);
  registerAttributionsRoute(router, access, { ch: deps.ch, limits: cfg.limits });
  registerOpenApiRoutes(router, [...SERVING_SPECS, ...PLATFORM_SPECS], packageVersion());

  log.info({ cors: cfg.corsOrigins }, 'serving ready');
  let stopping: Promise<void> | undefined;
  return { router, stop: () => (stopping ??= hub.stop()) };
}

function servingMetrics(registry: Registry) {
  return {
    requests: new Counter({ name: 'weir_serving_requests_total', help: 'Read API requests by route and status', labelNames: ['route', 'status'], registers: [registry] }),
    duration: new Histogram({
      name: 'weir_serving_request_duration_seconds',
      help: 'Read API latency by route',
      labelNames: ['route'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}

function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

