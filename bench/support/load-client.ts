/**
 * A load client in its own process, so that it does not share the collector's event loop.
 * It takes its share of the pre-serialised request bodies (one JSON body per line of the
 * bodies file) and posts them with `concurrency` requests in flight over keep-alive
 * connections. Nothing is serialised while the clock runs.
 *
 * Protocol: init → ready, warmup → warmed, go → done (see bench/ingest.ts).
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { reportFatal, splitLines } from './child';

export interface LoadClientInit {
  type: 'init';
  url: string;
  writeKey: string;
  bodiesFile: string;
  part: number;
  parts: number;
  concurrency: number;
  warmupBodies: number;
}

export interface LoadClientReport {
  type: 'done' | 'warmed';
  requests: number;
  accepted: number;
  rejected: number;
  /** Requests answered with anything but 202, or lost; the first reason in `firstFailure`. */
  failures: number;
  firstFailure?: string;
  ms: number;
  latencyMs: { p50: number; p99: number; max: number };
}

let init: LoadClientInit;
let bodies: Buffer[] = [];
let agent: http.Agent;
let target: URL;

function post(body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: '/v1/events',
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${init.writeKey}`, 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function sendAll(list: Buffer[], type: LoadClientReport['type']): Promise<LoadClientReport> {
  const latencies = new Float64Array(list.length);
  const report: LoadClientReport = { type, requests: list.length, accepted: 0, rejected: 0, failures: 0, ms: 0, latencyMs: { p50: 0, p99: 0, max: 0 } };
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      const t0 = performance.now();
      try {
        const res = await post(list[i]);
        if (res.status !== 202) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 300)}`);
        const r = JSON.parse(res.text) as { accepted: number; rejected: unknown[] };
        report.accepted += r.accepted;
        report.rejected += r.rejected.length;
      } catch (err) {
        report.failures++;
        report.firstFailure ??= (err as Error).message;
      }
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(init.concurrency, list.length) }, worker));
  report.ms = performance.now() - started;
  latencies.sort();
  const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0);
  report.latencyMs = { p50: at(0.5), p99: at(0.99), max: at(1) };
  return report;
}

process.on('message', (m: { type: string }) => {
  void (async () => {
    if (m.type === 'init') {
      init = m as LoadClientInit;
      target = new URL(init.url);
      agent = new http.Agent({ keepAlive: true, maxSockets: init.concurrency });
      bodies = splitLines(readFileSync(init.bodiesFile)).filter((_, i) => i % init.parts === init.part);
      process.send?.({ type: 'ready', bodies: bodies.length });
    } else if (m.type === 'warmup') {
      process.send?.(await sendAll(bodies.slice(0, init.warmupBodies), 'warmed'));
    } else if (m.type === 'go') {
      process.send?.(await sendAll(bodies, 'done'));
    } else if (m.type === 'stop') {
      agent?.destroy();
      process.exit(0);
    }
  })().catch(reportFatal);
});
process.once('disconnect', () => process.exit(1));
