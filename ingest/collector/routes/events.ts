/**
 * `POST /v1/events` (DESIGN.md section 7): write key, body limits, per-event validation and
 * results, enrichment, and `202` only after Kafka acknowledged every accepted event and
 * every dead-lettered one; `503` with nothing accepted when the log is unavailable.
 */
import { Router, type Request } from 'express';
import { Counter, type Registry } from 'prom-client';
import { AppError } from '../../../infra/errors';
import { asyncRoute, bearerToken } from '../../../infra/http/errors-middleware';
import type { AppRegistry } from '../../../infra/apps/app-registry';
import { parseTime, validateWireEvent } from '../../../schemas/event';
import { eventKey } from '../../../schemas/topics';
import { enrichEvent } from '../enrich-event';
import type { KafkaSender } from '../kafka-sender';
import type { LogRecord } from '../../../infra/kafka/log-producer';
import { RateLimiter } from '../../../infra/http/rate-limiter';
import { readBody } from '../read-body';

export interface EventsRouteDeps {
  apps: AppRegistry;
  sender: KafkaSender;
  registry: Registry;
  limits: { maxBodyBytes: number; maxBatchEvents: number; rateEventsPerS: number; rateRequestsPerS: number };
  now?: () => number;
}

export interface Rejection {
  index: number;
  event_id: string | null;
  reason: string;
}

/** The largest slice of a bad event kept in the DLQ (Kafka's default message limit is 1 MB). */
const DLQ_RAW_MAX_CHARS = 64 * 1024;
const RETRY_AFTER_UNAVAILABLE_S = '5';

export function eventsRouter(deps: EventsRouteDeps): Router {
  const now = deps.now ?? Date.now;
  const requests = new RateLimiter(deps.limits.rateRequestsPerS, now);
  const eventsRate = new RateLimiter(deps.limits.rateEventsPerS, now);
  const accepted = new Counter({ name: 'weir_ingest_events_accepted_total', help: 'Events acknowledged by Kafka', registers: [deps.registry] });
  const rejected = new Counter({ name: 'weir_ingest_events_rejected_total', help: 'Events rejected and dead-lettered', registers: [deps.registry] });
  const refused = new Counter({
    name: 'weir_ingest_requests_refused_total',
    help: 'Requests refused whole, by status',
    labelNames: ['status'],
    registers: [deps.registry],
  });

  const router = Router();
  router.post(
    '/v1/events',
    asyncRoute(async (req, res) => {
      try {
        const result = await handle(req);
        res.status(202).json(result);
      } catch (err) {
        if (err instanceof AppError) refused.inc({ status: String(err.status) });
        throw err;
      }
    }),
  );

  async function handle(req: Request): Promise<{ accepted: number; rejected: Rejection[] }> {
    const key = bearerToken(req.headers.authorization);
    const app = key ? await deps.apps.authenticate(key, 'write') : undefined;
    if (!app) {
      req.resume();
      throw new AppError('unauthorized', 'a valid write key is required: Authorization: Bearer <write key>');
    }
    const reqRate = requests.take(key);
    if (!reqRate.ok) {
      req.resume();
      throw new AppError('rate_limited', `over ${deps.limits.rateRequestsPerS} requests/s for this key`, { 'Retry-After': String(reqRate.retryAfterS) });
    }
    const body = parseBody(await readBody(req, deps.limits.maxBodyBytes), deps.limits.maxBatchEvents);
    const evRate = eventsRate.take(key, body.events.length);
    if (!evRate.ok) {
      throw new AppError('rate_limited', `over ${deps.limits.rateEventsPerS} events/s for this key`, { 'Retry-After': String(evRate.retryAfterS) });
    }

    const receivedAt = now();
    const requestIp = clientIp(req);
    // Shared by every event of the request: one allocation per request, not per event.
    const enrichContext = { receivedAt, requestIp, batchSentAt: body.sentAt };
    const messages: LogRecord[] = [];
    const dlq: LogRecord[] = [];
    const rejections: Rejection[] = [];
    body.events.forEach((raw, index) => {
      const reason = (() => {
        const v = validateWireEvent(raw);
        if (!v.ok) return v.reason;
        if (v.value.app_id !== app.app_id) return `app_id: ${JSON.stringify(v.value.app_id)} does not match the write key's app ${app.app_id}`;
        const e = enrichEvent(v.value, enrichContext);
        if (!e.ok) return e.reason;
        messages.push({ key: eventKey(e.event.app_id, e.event.device_id), value: JSON.stringify(e.event), timestamp: receivedAt });
        return undefined;
      })();
      if (reason === undefined) return;
      const eventId = typeof (raw as { event_id?: unknown })?.event_id === 'string' ? (raw as { event_id: string }).event_id : null;
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
    return { accepted: messages.length, rejected: rejections };
  }

  return router;
}

function parseBody(buf: Buffer, maxEvents: number): { events: unknown[]; sentAt?: number } {
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new AppError('invalid_body', `body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('invalid_body', 'body must be a JSON object { "events": [...], "sent_at"?: ... }');
  }
  const o = body as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => k !== 'events' && k !== 'sent_at');
  if (unknown.length) throw new AppError('invalid_body', `unknown body field(s) ${unknown.join(', ')}; allowed: events, sent_at`);
  if (!Array.isArray(o.events)) throw new AppError('invalid_body', 'events must be an array of event objects');
  if (o.events.length > maxEvents) {
    throw new AppError('payload_too_large', `${o.events.length} events in one request; at most ${maxEvents} allowed`);
  }
  let sentAt: number | undefined;
  if (o.sent_at !== undefined && o.sent_at !== null) {
    sentAt = parseTime(o.sent_at);
    if (sentAt === undefined) throw new AppError('invalid_body', 'sent_at must be epoch milliseconds or an ISO-8601 time');
  }
  return { events: o.events, sentAt };
}

function clientIp(req: Request): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

const truncate = (s: string) => (s.length > DLQ_RAW_MAX_CHARS ? s.slice(0, DLQ_RAW_MAX_CHARS) : s);

/** The event as JSON for the DLQ; JSON.stringify throws (stack overflow) on deeply nested input. */
function rawJson(raw: unknown): string {
  try {
    return JSON.stringify(raw) ?? 'undefined';
  } catch {
    return '"(not serialisable: nested too deeply)"';
  }
}
