/**
 * Segment's HTTP Tracking API (DESIGN.md sections 3a and 7), so Segment's and RudderStack's
 * SDKs send to weir unchanged: `POST /v1/batch` and one route per message type, each also
 * under the one-letter path Segment's browser library posts to (`/v1/t`, `/v1/p`, `/v1/b` …).
 * The write key comes as the HTTP Basic user (empty password) or as a Bearer token.
 *
 * The same intake as `POST /v1/events` (event-intake.ts): validation, enrichment, DLQ, rate
 * limits, acks=all. `200 {"success": true}` once Kafka acknowledged; a message that cannot
 * become an event is dead-lettered with its reason and never fails the others; a body that
 * is not a Segment payload is a 400. Errors carry Segment's `success: false` and `message`
 * beside weir's `error` object.
 */
import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { AppError } from '../../../infra/errors';
import { asyncRoute, bearerToken, basicAuthUser } from '../../../infra/http/errors-middleware';
import { parseTime, validateWireEvent } from '../../../schemas/event';
import type { EventIntake, ItemCodec } from '../event-intake';
import { readBody } from '../read-body';
import { mapSegmentMessage, SEGMENT_MAX_MESSAGE_BYTES, type SegmentType } from '../segment/segment-message';
import { segmentReason } from '../segment/segment-reason';

/** Segment's limit on a batch request (its HTTP Tracking API refuses larger ones). */
export const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;

/** Each message route with the one-letter alias Segment's browser library uses (`type.charAt(0)`). */
const MESSAGE_ROUTES: readonly SegmentType[] = ['track', 'screen', 'page', 'identify', 'group', 'alias'];
export const SEGMENT_PATHS = ['/v1/batch', '/v1/b', ...MESSAGE_ROUTES.flatMap((t) => [`/v1/${t}`, `/v1/${t[0]}`])];

const HOW_TO_AUTH = 'HTTP Basic with the write key as user name and an empty password, or Authorization: Bearer <write key>';

export function segmentRouter(intake: EventIntake): Router {
  const router = Router();
  router.post(['/v1/batch', '/v1/b'], asyncRoute((req, res) => accept(req, res, undefined)));
  for (const type of MESSAGE_ROUTES) {
    router.post([`/v1/${type}`, `/v1/${type[0]}`], asyncRoute((req, res) => accept(req, res, type)));
  }
  router.use(SEGMENT_PATHS, segmentErrors);
  return router;

  async function accept(req: Request, res: Response, type: SegmentType | undefined): Promise<void> {
    try {
      const key = writeKey(req.headers.authorization);
      const app = await intake.admit(req, key, HOW_TO_AUTH);
      const limit = Math.min(type ? SEGMENT_MAX_MESSAGE_BYTES : SEGMENT_MAX_BATCH_BYTES, intake.limits.maxBodyBytes);
      const body = parseSegmentBody(await readBody(req, limit), type);
      if (body.messages.length > intake.limits.maxBatchEvents) {
        throw new AppError('payload_too_large', `${body.messages.length} messages in one request; at most ${intake.limits.maxBatchEvents} allowed`);
      }
      intake.chargeEvents(key, body.messages.length);
      await intake.ingest(req, app, body.messages, segmentCodec(app.app_id, type, body.context), body.sentAt);
      res.status(200).json({ success: true });
    } catch (err) {
      intake.refused(err);
      throw err;
    }
  }
}

/** A Segment message → a validated wire event, its reason in Segment's field names. */
export function segmentCodec(appId: string, routeType?: SegmentType, batchContext?: Record<string, unknown>): ItemCodec {
  return {
    decode(raw, receivedAt) {
      const mapped = mapSegmentMessage(raw, { appId, receivedAt, routeType, batchContext });
      if (!mapped.ok) return mapped;
      const v = validateWireEvent(mapped.value);
      if (!v.ok) return { ok: false, reason: segmentReason(v.reason) };
      return mapped.storeAs ? { ...v, storeAs: mapped.storeAs } : v;
    },
    idOf: (raw) => (typeof (raw as { messageId?: unknown })?.messageId === 'string' ? (raw as { messageId: string }).messageId : null),
    explain: segmentReason,
  };
}

/** The write key of `Authorization: Basic base64(<key>:)` (any password is ignored, as Segment does) or `Bearer <key>`. */
function writeKey(header: string | undefined): string {
  return bearerToken(header) || basicAuthUser(header);
}

interface SegmentBody {
  messages: unknown[];
  sentAt?: number;
  context?: Record<string, unknown>;
}

/**
 * A batch `{ "batch": [...], "sentAt"?, "context"?, … }` or one message (an object). Other
 * top-level fields of a batch (`writeKey`, `integrations`, `metadata`, RudderStack's
 * `timestamp`) are ignored, as Segment does; the messages themselves are checked one by one.
 */
function parseSegmentBody(buf: Buffer, type: SegmentType | undefined): SegmentBody {
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new AppError('invalid_body', `body is not valid JSON: ${(err as Error).message}`);
  }
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  if (type) {
    if (!isObject) throw new AppError('invalid_body', `body must be one Segment ${type} message (a JSON object)`);
    return { messages: [body] };
  }
  const o = body as Record<string, unknown>;
  if (!isObject || !Array.isArray(o.batch)) throw new AppError('invalid_body', 'body must be a Segment batch: a JSON object { "batch": [messages…], "sentAt"?: … }');
  let sentAt: number | undefined;
  if (o.sentAt !== undefined && o.sentAt !== null) {
    sentAt = parseTime(o.sentAt);
    if (sentAt === undefined) throw new AppError('invalid_body', 'sentAt must be an ISO-8601 time (or epoch milliseconds)');
  }
  if (o.context !== undefined && (typeof o.context !== 'object' || o.context === null || Array.isArray(o.context))) {
    throw new AppError('invalid_body', 'context must be a JSON object');
  }
  return { messages: o.batch, sentAt, context: o.context as Record<string, unknown> | undefined };
}

/** Segment's error shape (`success: false`, `message`) beside weir's `error` object. */
const segmentErrors: ErrorRequestHandler = (err, _req, res, next) => {
  if (!(err instanceof AppError)) return next(err);
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.status(err.status).json({ success: false, message: err.message, error: { code: err.code, message: err.message } });
};
