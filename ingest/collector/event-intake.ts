/**
 * What every write route of the collector shares (DESIGN.md sections 3, 3a, 7): the write
 * key and the rate limits per key, per-item validation and enrichment, the DLQ record of
 * each rejected item, and the one send that resolves only once Kafka acknowledged every
 * accepted event and every dead-lettered item (acks=all). `POST /v1/events` and the
 * Segment routes differ only in how a body item becomes a wire event (`decode`).
 */
import type { Request } from 'express';
import { Counter, type Registry } from 'prom-client';
import type { App, AppRegistry } from '../../infra/apps/app-registry';
import { AppError } from '../../infra/errors';
import { RateLimiter } from '../../infra/http/rate-limiter';
import type { UncountedType, Validation, WireEvent } from '../../schemas/event';
import { eventKey } from '../../schemas/topics';
import type { LogRecord } from '../../infra/kafka/log-producer';
import type { CidrSet } from '../../schemas/cidr';
import { clientIpOf } from './client-ip';
import { enrichEvent } from './enrich-event';
import type { KafkaSender } from './kafka-sender';

export interface IntakeLimits {
  maxBodyBytes: number;
  maxBatchEvents: number;
  rateEventsPerS: number;
  rateRequestsPerS: number;
}

export interface IntakeDeps {
  apps: AppRegistry;
  sender: KafkaSender;
  registry: Registry;
  limits: IntakeLimits;
  /** TRUSTED_PROXIES: peers whose X-Forwarded-For names the client (client-ip.ts). */
  trustedProxies: CidrSet;
  now?: () => number;
}

export interface Rejection {
  index: number;
  event_id: string | null;
  reason: string;
}

/** A body item as a wire event; `storeAs` stores it under a type no view counts (section 3a). */
export type Decoded = Validation<WireEvent> & { storeAs?: UncountedType };

export interface ItemCodec {
  /** `receivedAt`: the request's receive time (ms), the event time of an item that has none. */
  decode(raw: unknown, receivedAt: number): Decoded;
  /** The item's id for the response and the DLQ, when it has one. */
  idOf(raw: unknown): string | null;
  /** An enrichment reason (about `ts`) in the words of the item's own format; unset: as it is. */
  explain?(reason: string): string;
}

export interface EventIntake {
  /** The app of a write key, within the request rate; 401 or 429 otherwise (the body is drained). */
  admit(req: Request, key: string, howToAuth: string): Promise<App>;
  /** Charges `n` events to the key's event rate; 429 when over it. */
  chargeEvents(key: string, n: number): void;
  /** Validates, enriches and sends every item; resolves once Kafka acknowledged; 503 when it is unavailable. */
  ingest(req: Request, app: App, items: readonly unknown[], codec: ItemCodec, batchSentAt?: number): Promise<{ accepted: number; rejected: Rejection[] }>;
  /** Counts a request refused whole (by status) before rethrowing its error. */
  refused(err: unknown): void;
  readonly limits: IntakeLimits;
}

/** The largest slice of a bad item kept in the DLQ (Kafka's default message limit is 1 MB). */
const DLQ_RAW_MAX_CHARS = 64 * 1024;
const RETRY_AFTER_UNAVAILABLE_S = '5';

export function createEventIntake(deps: IntakeDeps): EventIntake {
  const now = deps.now ?? Date.now;
  const { limits } = deps;
  const requests = new RateLimiter(limits.rateRequestsPerS, now);
  const eventsRate = new RateLimiter(limits.rateEventsPerS, now);
  const accepted = new Counter({ name: 'weir_ingest_events_accepted_total', help: 'Events acknowledged by Kafka', registers: [deps.registry] });
  const rejected = new Counter({ name: 'weir_ingest_events_rejected_total', help: 'Events rejected and dead-lettered', registers: [deps.registry] });
  const serverFilledIps = new Counter({
    name: 'weir_ingest_server_filled_ips_total',
    help: 'Accepted events sent without ip, whose ip the collector filled: from the socket or from a trusted proxy\'s X-Forwarded-For',
    labelNames: ['source'],
    registers: [deps.registry],
  });
  const refusedRequests = new Counter({
    name: 'weir_ingest_requests_refused_total',
    help: 'Requests refused whole, by status',
    labelNames: ['status'],
    registers: [deps.registry],
  });

  return {
    limits,
    async admit(req, key, howToAuth) {
      const app = key
        ? await deps.apps.authenticate(key, 'write').catch((err: unknown) => {
            req.resume(); // 503: the key cannot be judged while ClickHouse is down
            throw err;
          })
        : undefined;
      if (!app) {
        req.resume();
        throw new AppError('unauthorized', `a valid write key is required: ${howToAuth}`);
      }
      const rate = requests.take(key);
      if (!rate.ok) {
        req.resume();
        throw new AppError('rate_limited', `over ${limits.rateRequestsPerS} requests/s for this key`, { 'Retry-After': String(rate.retryAfterS) });
      }
      return app;
    },

    chargeEvents(key, n) {
      const rate = eventsRate.take(key, n);
      if (!rate.ok) throw new AppError('rate_limited', `over ${limits.rateEventsPerS} events/s for this key`, { 'Retry-After': String(rate.retryAfterS) });
    },

    async ingest(req, app, items, codec, batchSentAt) {
      const receivedAt = now();
      // Shared by every item of the request: one allocation per request, not per event.
      const client = clientIpOf(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], deps.trustedProxies);
      const enrichContext = { receivedAt, requestIp: client.ip, batchSentAt };
      let filledIps = 0;
      const messages: LogRecord[] = [];
      const dlq: LogRecord[] = [];
      const rejections: Rejection[] = [];
      items.forEach((raw, index) => {
        const reason = (() => {
          const v = codec.decode(raw, receivedAt);
          if (!v.ok) return v.reason;
          if (v.value.app_id !== app.app_id) return `app_id: ${JSON.stringify(v.value.app_id)} does not match the write key's app ${app.app_id}`;
          const e = enrichEvent(v.value, enrichContext);
          if (!e.ok) return codec.explain ? codec.explain(e.reason) : e.reason;
          if (v.value.ip === undefined || v.value.ip === null) filledIps++;
          if (v.storeAs) {
            e.event.type = v.storeAs;
            e.event.name = '';
          }
          messages.push({ key: eventKey(e.event.app_id, e.event.device_id), value: JSON.stringify(e.event), timestamp: receivedAt });
          return undefined;
        })();
        if (reason === undefined) return;
        const eventId = codec.idOf(raw);
        rejections.push({ index, event_id: eventId, reason });
        dlq.push({
          key: app.app_id,
          value: JSON.stringify({ app_id: app.app_id, index, event_id: eventId, reason, received_at: receivedAt, raw: truncate(rawJson(raw)) }),
          timestamp: receivedAt,
        });
      });

      try {
        await deps.sender.send(messages, dlq);
      } catch (err) {
        throw new AppError('unavailable', 'the event log (Kafka) is unavailable; nothing was accepted, retry later', { 'Retry-After': RETRY_AFTER_UNAVAILABLE_S }, { cause: err });
      }
      accepted.inc(messages.length);
      rejected.inc(rejections.length);
      if (filledIps) serverFilledIps.inc({ source: client.source }, filledIps);
      return { accepted: messages.length, rejected: rejections };
    },

    refused(err) {
      if (err instanceof AppError) refusedRequests.inc({ status: String(err.status) });
    },
  };
}

const truncate = (s: string) => (s.length > DLQ_RAW_MAX_CHARS ? s.slice(0, DLQ_RAW_MAX_CHARS) : s);

/** The item as JSON for the DLQ; JSON.stringify throws (stack overflow) on deeply nested input. */
function rawJson(raw: unknown): string {
  try {
    return JSON.stringify(raw) ?? 'undefined';
  } catch {
    return '"(not serialisable: nested too deeply)"';
  }
}
