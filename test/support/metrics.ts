/** Reading a running weir's `/metrics` and `/ready` in tests. */
import { waitFor } from './wait-for';
import type { WeirProcess } from './weir-process';

/** One unlabelled value from `/metrics` (0 when absent). */
export async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** The largest value of a labelled metric over its label sets (0 when absent). */
export async function metricMax(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
  return Math.max(0, ...values);
}

/**
 * Waits until `layer` ('archiver', 'speed') has failed `failures` write attempts, then checks
 * that the process is still up and says it is stuck: alive in `/health`, `/ready` 503 naming
 * the layer, a stalled partition and a lag in seconds in the metrics.
 */
export async function expectStalledButAlive(w: WeirProcess, layer: string, failures: number): Promise<void> {
  await waitFor(async () => (await metricValue(w.url, `weir_${layer}_write_failures_total`)) >= failures || undefined, { timeoutMs: 60_000, what: `${layer} retries` });
  expect(w.child.exitCode).toBeNull();
  const notReady = await fetch(`${w.url}/ready`);
  expect(notReady.status).toBe(503);
  expect(((await notReady.json()) as { checks: Record<string, unknown> }).checks[layer]).toBeDefined();
  expect(await metricValue(w.url, `weir_${layer}_stalled_partitions`)).toBeGreaterThan(0);
  expect(await metricMax(w.url, `weir_${layer}_lag_seconds`)).toBeGreaterThan(0);
  const health = await fetch(`${w.url}/health`);
  expect(health.status).toBe(200);
  expect(((await health.json()) as { components: Record<string, string> }).components[layer]).toBe('ok');
}
