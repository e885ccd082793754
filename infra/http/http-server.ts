/**
 * The HTTP server of a process: the routers of the roles it runs, plus `/health`,
 * `/ready` (every dependency reachable), `/metrics`; graceful stop (stop accepting, let
 * in-flight requests finish, then close idle and remaining connections). With an internal
 * listener (`INTERNAL_PORT`), `/metrics` and the admin routers are served only there, so the
 * public port can face the internet while operators reach the rest on a private interface.
 */
import http from 'node:http';
import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { errorMiddleware, notFound } from './errors-middleware';
import { methodNotAllowed, type RouterLike } from './method-not-allowed';

export type ReadinessCheck = () => Promise<void>;
/** Whether a long-running part (a consumer) is still working; false once it stopped for good. */
export type HealthCheck = () => boolean;

export interface HttpServerHandle {
  url: string;
  port: number;
  server: http.Server;
  /** The internal listener (INTERNAL_PORT), when there is one. */
  internal?: { url: string; port: number };
  stop(): Promise<void>;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  /** INTERNAL_HOST/INTERNAL_PORT: when set, `/metrics` and `adminRouters` are served only here, never on `port`. */
  internal?: { host: string; port: number };
  routers: Router[];
  /** Routes under `/v1/admin` (admin token). */
  adminRouters: Router[];
  checks: Record<string, ReadinessCheck>;
  /** The parts whose death `/health` reports (a liveness probe restarts the process then). */
  health?: Record<string, HealthCheck>;
  registry: Registry;
  log: Logger;
}

export interface HttpAppOptions {
  routers: Router[];
  checks: Record<string, ReadinessCheck>;
  /** The parts whose death `/health` reports. */
  health?: Record<string, HealthCheck>;
  /** Served on `/metrics` when given. */
  registry?: Registry;
  log: Logger;
}

export function createHttpApp(o: HttpAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/health', (_req, res) => {
    const parts = Object.entries(o.health ?? {}).map(([name, healthy]) => [name, healthy() ? 'ok' : 'stopped'] as const);
    const ok = parts.every(([, s]) => s === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unhealthy', components: Object.fromEntries(parts) });
  });
  app.get('/ready', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(o.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 3000);
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, `unreachable: ${(err as Error).message}`] as const;
        }
      }),
    );
    const ok = results.every(([, s]) => s === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
  });
  const registry = o.registry;
  if (registry) {
    app.get('/metrics', async (_req, res) => {
      res.setHeader('Content-Type', registry.contentType);
      res.send(await registry.metrics());
    });
  }
  for (const r of o.routers) app.use(r);
  app.use(methodNotAllowed(app.router as unknown as RouterLike));
  app.use(notFound);
  app.use(errorMiddleware(o.log));
  return app;
}

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServerHandle> {
  const base = { checks: o.checks, health: o.health, log: o.log };
  if (!o.internal) {
    const one = await listen(createHttpApp({ ...base, routers: [...o.routers, ...o.adminRouters], registry: o.registry }), o.host, o.port);
    return one;
  }
  const pub = await listen(createHttpApp({ ...base, routers: o.routers }), o.host, o.port);
  let internal: Listener;
  try {
    internal = await listen(createHttpApp({ ...base, routers: o.adminRouters, registry: o.registry }), o.internal.host, o.internal.port);
  } catch (err) {
    await pub.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: pub.url,
    port: pub.port,
    server: pub.server,
    internal: { url: internal.url, port: internal.port },
    stop: () => (stopping ??= Promise.all([pub.stop(), internal.stop()]).then(() => undefined)),
  };
}

type Listener = Omit<HttpServerHandle, 'internal'>;

async function listen(app: express.Express, host: string, port: number): Promise<Listener> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as { port: number };
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    server,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after the drain period are cut.
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      })),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
