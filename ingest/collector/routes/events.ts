/**
 * `POST /v1/events` (DESIGN.md section 7): write key, body limits, per-event validation and
 * results, enrichment, and `202` only after Kafka acknowledged every accepted event and
 * every dead-lettered one; `503` with nothing accepted when the log is unavailable
 * (event-intake.ts).
 */
import { Router } from 'express';
import { AppError } from '../../../infra/errors';
import { asyncRoute, bearerToken } from '../../../infra/http/errors-middleware';
import { parseTime, validateWireEvent } from '../../../schemas/event';
import type { EventIntake, ItemCodec } from '../event-intake';
import { readBody } from '../read-body';

const WIRE_EVENTS: ItemCodec = {
  decode: (raw) => validateWireEvent(raw),
  idOf: (raw) => (typeof (raw as { event_id?: unknown })?.event_id === 'string' ? (raw as { event_id: string }).event_id : null),
};

export function eventsRouter(intake: EventIntake): Router {
  const router = Router();
  router.post(
    '/v1/events',
    asyncRoute(async (req, res) => {
      try {
        const key = bearerToken(req.headers.authorization);
        const app = await intake.admit(req, key, 'Authorization: Bearer <write key>');
        const body = parseBody(await readBody(req, intake.limits.maxBodyBytes), intake.limits.maxBatchEvents);
        intake.chargeEvents(key, body.events.length);
        res.status(202).json(await intake.ingest(req, app, body.events, WIRE_EVENTS, body.sentAt));
      } catch (err) {
        intake.refused(err);
        throw err;
      }
    }),
  );
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
