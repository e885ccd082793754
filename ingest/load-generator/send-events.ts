/**
 * Sends events to a collector the way an SDK fleet would: `POST {url}/v1/events` in batches,
 * one write key per app, several requests in flight over keep-alive connections, optional
 * gzip and a target rate. A batch answered 429/503/5xx, or lost on the network, is sent again
 * (same event_ids, as a real SDK retries) after `Retry-After` or a capped backoff.
 */
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { SingleBar, Presets } from 'cli-progress';
import type { WireEvent } from '../../schemas/event';
import { parseTime } from '../../schemas/event';

const gzip = promisify(gzipCb);

export interface SendOptions {
  /** Collector base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Write key of each app. */
  keys: Readonly<Record<string, string>>;
  /** Events per request (default 100). */
  batchSize?: number;
  /** Requests in flight (default 8). */
  concurrency?: number;
  /** Target events per second (default: as fast as possible). */
  rate?: number;
  /** gzip request bodies. */
  gzip?: boolean;
  /** Retries of one batch after the first attempt (default 8). */
  maxRetries?: number;
  /** Cap on one wait before a retry, also for a larger `Retry-After` (default 30 000 ms). */
  maxRetryDelayMs?: number;
  /** Per-request timeout (default 30 000 ms). */
  timeoutMs?: number;
  /** How requests travel (default: node:http(s) with a keep-alive agent); tests pass a fake. */
  transport?: Transport;
  /** Progress bar on stderr. */
  progress?: boolean;
  /** Expected number of events, for the progress bar. */
  total?: number;
  /** Keep one `BatchResult` per batch in the result. */
  collectBatches?: boolean;
  /**
   * Shift `sent_at` by (now - simulated send time) for items that carry `sendAtMs` (default
   * true). Generated skewed events carry the device clock at the *simulated* send time; when a
   * simulated past is replayed now, the collector's correction ts + (received_at - sent_at)
   * only recovers the true time if `sent_at` is the device clock at the *actual* send.
   */
  rebaseSentAt?: boolean;
}

/** A wire event, or a generated item (`GeneratedEvent` has this shape). */
export type SendItem = WireEvent | { event: WireEvent; sendAtMs?: number };

export interface RejectedEvent {
  app_id: string;
  event_id: string;
  reason: string;
}

export interface BatchResult {
  app_id: string;
  size: number;
  /** Final HTTP status (0: no response). */
  status: number;
  attempts: number;
  accepted: number;
  rejected: number;
  ms: number;
  error?: string;
}

export interface SendResult {
  /** Events handed to the collector (each counted once, however often retried). */
  sent: number;
  accepted: number;
  /** Per-event rejections from the collector, plus every event of a batch that failed for good and events of apps without a key. */
  rejected: RejectedEvent[];
  retries: number;
  failedBatches: number;
  seconds: number;
  batches?: BatchResult[];
}

export interface TransportResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

/** Posts one request body to `{url}/v1/events`. Rejects on network failure. */
export interface Transport {
  post(headers: Readonly<Record<string, string | number>>, body: Buffer): Promise<TransportResponse>;
  close(): void;
}

/** node:http(s) with a keep-alive agent: a new connection per batch would dominate the cost of a small batch. */
export function createHttpTransport(baseUrl: string, opts: { maxSockets: number; timeoutMs: number }): Transport {
  const endpoint = new URL('/v1/events', baseUrl);
  const client = endpoint.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: opts.maxSockets });
  return {
    post: (headers, body) =>
      new Promise((resolve, reject) => {
        const req = client.request(endpoint, { method: 'POST', agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`no response within ${opts.timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

interface Pending {
  app: string;
  events: WireEvent[];
  /** Simulated send time per event (NaN: unknown). */
  sendAt: number[];
}

const RETRIABLE = new Set([429, 500, 502, 503, 504]);

export async function sendEvents(source: Iterable<SendItem> | AsyncIterable<SendItem>, opts: SendOptions): Promise<SendResult> {
  const batchSize = positive(opts.batchSize ?? 100, 'batchSize');
  const concurrency = positive(opts.concurrency ?? 8, 'concurrency');
  const maxRetries = opts.maxRetries ?? 8;
  const maxDelay = opts.maxRetryDelayMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const rebase = opts.rebaseSentAt ?? true;
  if (opts.rate !== undefined) positive(opts.rate, 'rate');
  const transport = opts.transport ?? createHttpTransport(opts.url, { maxSockets: concurrency, timeoutMs });

  const result: SendResult = { sent: 0, accepted: 0, rejected: [], retries: 0, failedBatches: 0, seconds: 0 };
  if (opts.collectBatches) result.batches = [];
  const started = performance.now();
  let done = 0;
  const bar = opts.progress
    ? new SingleBar(
        {
          stream: process.stderr,
          format: 'sending [{bar}] {percentage}% | {value}/{total} events | {eps} ev/s | retries {retries} | rejected {rejected}',
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(opts.total ?? 0, 0, { eps: 0, retries: 0, rejected: 0 });
  const tick = () => {
    if (!bar) return;
    const s = (performance.now() - started) / 1000;
    if (!opts.total) bar.setTotal(result.sent);
    bar.update(done, { eps: Math.round(done / Math.max(s, 0.001)), retries: result.retries, rejected: result.rejected.length });
  };

  const inFlight = new Set<Promise<void>>();
  const buffers = new Map<string, Pending>();

  const dispatch = async (p: Pending) => {
    if (opts.rate !== undefined) {
      // Pacing: the n-th event may leave no earlier than n / rate seconds after the start.
      const due = started + ((result.sent + p.events.length) / opts.rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    result.sent += p.events.length;
    const task = sendBatch(p)
      .then((b) => {
        done += p.events.length;
        result.batches?.push(b);
        tick();
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  };

  const sendBatch = async (p: Pending): Promise<BatchResult> => {
    const key = opts.keys[p.app];
    const t0 = performance.now();
    let attempts = 0;
    let lastError = '';
    let status = 0;
    while (attempts <= maxRetries) {
      if (attempts > 0) result.retries++;
      attempts++;
      let body = Buffer.from(JSON.stringify({ events: rebase ? rebaseSentAt(p) : p.events }));
      const headers: Record<string, string | number> = {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
      };
      if (opts.gzip) {
        body = await gzip(body);
        headers['content-encoding'] = 'gzip';
      }
      headers['content-length'] = body.length;
      let waitMs: number;
      try {
        const res = await transport.post(headers, body);
        status = res.status;
        if (res.status === 202 || res.status === 200) {
          const parsed = parseAccepted(res.body);
          const rejected = parsed.rejected.map((r) => ({
            app_id: p.app,
            event_id: r.event_id ?? (r.index !== undefined ? String(p.events[r.index]?.event_id ?? '') : ''),
            reason: r.reason,
          }));
          result.accepted += parsed.accepted;
          result.rejected.push(...rejected);
          return { app_id: p.app, size: p.events.length, status, attempts, accepted: parsed.accepted, rejected: rejected.length, ms: performance.now() - t0 };
        }
        lastError = `HTTP ${res.status}: ${errorMessage(res.body)}`;
        if (!RETRIABLE.has(res.status)) break;
        waitMs = retryAfterMs(res.headers['retry-after']) ?? backoffMs(attempts);
      } catch (err) {
        // Network failure (refused, reset, timeout): the collector may or may not have the
        // events, so they are re-sent; duplicates are what the dedup key is for.
        status = 0;
        lastError = err instanceof Error ? err.message : String(err);
        waitMs = backoffMs(attempts);
      }
      if (attempts <= maxRetries) await sleep(Math.min(maxDelay, waitMs));
    }
    result.failedBatches++;
    const reason = attempts > maxRetries ? `batch failed after ${attempts} attempts: ${lastError}` : `batch refused: ${lastError}`;
    for (const e of p.events) result.rejected.push({ app_id: p.app, event_id: String(e.event_id), reason });
    return { app_id: p.app, size: p.events.length, status, attempts, accepted: 0, rejected: p.events.length, ms: performance.now() - t0, error: lastError };
  };

  try {
    for await (const item of source) {
      const event = 'event' in item && typeof item.event === 'object' ? item.event : (item as WireEvent);
      const sendAt = 'event' in item && typeof item.sendAtMs === 'number' ? item.sendAtMs : Number.NaN;
      const app = String(event.app_id);
      if (opts.keys[app] === undefined) {
        result.rejected.push({ app_id: app, event_id: String(event.event_id), reason: `no write key for app "${app}"` });
        continue;
      }
      let buf = buffers.get(app);
      if (!buf) buffers.set(app, (buf = { app, events: [], sendAt: [] }));
      buf.events.push(event);
      buf.sendAt.push(sendAt);
      if (buf.events.length >= batchSize) {
        buffers.delete(app);
        await dispatch(buf);
      }
    }
    for (const buf of buffers.values()) await dispatch(buf);
    await Promise.all(inFlight);
  } finally {
    transport.close();
    tick();
    bar?.stop();
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

function positive(n: number, name: string): number {
  if (!(Number.isFinite(n) && n > 0)) throw new RangeError(`sendEvents: ${name} must be a positive number, got ${n}`);
  return n;
}

/** `sent_at` as the device clock at this (real) send: simulated value + (now - simulated send time). */
function rebaseSentAt(p: Pending): WireEvent[] {
  const now = Date.now();
  return p.events.map((e, i) => {
    const sendAt = p.sendAt[i];
    if (e.sent_at === undefined || e.sent_at === null || Number.isNaN(sendAt)) return e;
    const sent = parseTime(e.sent_at);
    return sent === undefined ? e : { ...e, sent_at: sent + (now - sendAt) };
  });
}

interface Accepted {
  accepted: number;
  rejected: { index?: number; event_id?: string; reason: string }[];
}

function parseAccepted(body: string): Accepted {
  try {
    const j = JSON.parse(body) as Partial<Accepted>;
    return { accepted: Number(j.accepted ?? 0), rejected: Array.isArray(j.rejected) ? j.rejected : [] };
  } catch {
    return { accepted: 0, rejected: [{ reason: `unparseable 2xx response: ${body.slice(0, 200)}` }] };
  }
}

function errorMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (j.error) return `${j.error.code ?? ''} ${j.error.message ?? ''}`.trim();
  } catch {
    // not JSON: show the text itself
  }
  return body.slice(0, 200);
}

/** `Retry-After` in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with jitter: 100 ms, 200 ms, 400 ms, … */
function backoffMs(attempt: number): number {
  return 100 * 2 ** Math.min(attempt - 1, 10) * (0.5 + Math.random() / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
