/**
 * A load client in its own process, so that it does not share the collector's event loop.
 * It takes its share of the pre-serialised request bodies (one JSON body per line of the
 * bodies file) and posts them with `concurrency` requests in flight over keep-alive
 * connections, to `/v1/events` or, as Segment's SDKs do, to `/v1/batch` with the write key
 * in HTTP Basic. Nothing is serialised while the clock runs.
 *
 * Protocol: init → ready, warmup → warmed, go → done (see bench/ingest.ts).
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { reportFatal, splitLines } from './child';

export type IngestRoute = 'events' | 'segment';

/** Per route: the path, the Authorization header and the status of success. */
const ROUTES: Record<IngestRoute, { path: string; auth: (key: string) => string; okStatus: number }> = {
  events: { path: '/v1/events', auth: (key) => `Bearer ${key}`, okStatus: 202 },
  segment: { path: '/v1/batch', auth: (key) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`, okStatus: 200 },
};

export interface LoadClientInit {
  type: 'init';
  route: IngestRoute;
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
  /** Requests answered with anything but success, or lost; the first reason in `firstFailure`. */
  failures: number;
  firstFailure?: string;
  ms: number;
  latencyMs: { p50: number; p99: number; max: number };
}

let init: LoadClientInit;
let bodies: Buffer[] = [];
/** Segment's answer carries no counts: each body's messages, counted before the clock runs. */
let messagesPer: number[] = [];
let agent: http.Agent;
let target: URL;

function post(body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: ROUTES[init.route].path,
        method: 'POST',
        agent,
        headers: { authorization: ROUTES[init.route].auth(init.writeKey), 'content-type': 'application/json', 'content-length': body.length },
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

async function sendAll(from: number, to: number, type: LoadClientReport['type']): Promise<LoadClientReport> {
  const list = bodies.slice(from, to);
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
        if (res.status !== ROUTES[init.route].okStatus) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 300)}`);
        if (init.route === 'segment') {
          // Accepted or dead-lettered, Segment does not say which: the bench reads the DLQ's growth.
          report.accepted += messagesPer[from + i];
        } else {
          const r = JSON.parse(res.text) as { accepted: number; rejected: unknown[] };
          report.accepted += r.accepted;
          report.rejected += r.rejected.length;
        }
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
      messagesPer = init.route === 'segment' ? bodies.map((b) => (JSON.parse(b.toString('utf8')) as { batch: unknown[] }).batch.length) : [];
      process.send?.({ type: 'ready', bodies: bodies.length });
    } else if (m.type === 'warmup') {
      process.send?.(await sendAll(0, init.warmupBodies, 'warmed'));
    } else if (m.type === 'go') {
      process.send?.(await sendAll(0, bodies.length, 'done'));
    } else if (m.type === 'stop') {
      agent?.destroy();
      process.exit(0);
    }
  })().catch(reportFatal);
});
process.once('disconnect', () => process.exit(1));
