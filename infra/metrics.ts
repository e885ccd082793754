import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process; every layer registers its metrics on it and the
 * HTTP server of the process exposes it on `/metrics`.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'weir_process_' });
  return registry;
}
