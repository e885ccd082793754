/**
 * The HTTP server of a process: the routers of the roles it runs, plus `/health`,
 * `/ready` (every dependency reachable), `/metrics`; graceful stop (stop accepting, let
 * in-flight requests finish, then close idle and remaining connections).
 */
import http from 'node:http';
import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { errorMiddleware, notFound } from './errors-middleware';

export type ReadinessCheck = () => Promise<void>;
/** Whether a long-running part (a consumer) is still working; false once it stopped for good. */
export type HealthCheck = () => boolean;

export interface HttpServerHandle {
  url: string;
  port: number;
  server: http.Server;
  stop(): Promise<void>;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  routers: Router[];
  checks: Record<string, ReadinessCheck>;
  /** The parts whose death `/health` reports (a liveness probe restarts the process then). */
  health?: Record<string, HealthCheck>;
  registry: Registry;
  log: Logger;
}

export function createHttpApp(o: Omit<HttpServerOptions, 'host' | 'port'>): express.Express {
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
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', o.registry.contentType);
    res.send(await o.registry.metrics());
  });
  for (const r of o.routers) app.use(r);
  app.use(notFound);
  app.use(errorMiddleware(o.log));
  return app;
}

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServerHandle> {
  const app = createHttpApp(o);
  const server = http.createServer({ keepAliveTimeout: 65_000 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as { port: number };
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${o.host}:${addr.port}`,
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
