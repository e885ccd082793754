/**
 * Specs of the collector's Segment-compatible routes (DESIGN.md sections 3a and 7;
 * ingest/collector/routes/segment.ts). Messages are described loosely, as Segment's own
 * tracking API takes them: each is checked one by one and a bad one is dead-lettered, never
 * a reason to fail the request. The one-letter paths of Segment's browser library
 * (`/v1/t`, `/v1/p`, `/v1/s`, `/v1/i`, `/v1/g`, `/v1/a`, `/v1/b`) are the same routes.
 */
import { z } from 'zod';
import { ErrorResponseSchema } from '../http/query-params';
import { defineRoute, type RouteSpec } from './route-spec';

const time = z.string().describe('ISO-8601');
const SegmentMessage = z
  .object({
    type: z.enum(['track', 'screen', 'page', 'identify', 'group', 'alias']).optional().describe('required in a batch; a message route implies it'),
    messageId: z.string().describe('the deduplication key: becomes event_id (1–64 characters)'),
    anonymousId: z.string().optional(),
    userId: z.string().optional(),
    event: z.string().optional().describe('track: the event name (section 3a maps Application Installed, Order Completed, …)'),
    name: z.string().optional().describe('screen / page: the name'),
    properties: z.record(z.string(), z.unknown()).optional(),
    traits: z.record(z.string(), z.unknown()).optional(),
    groupId: z.string().optional(),
    previousId: z.string().optional(),
    context: z.record(z.string(), z.unknown()).optional().describe('device, os, app, ip, userAgent, locale, location are read'),
    timestamp: time.optional(),
    originalTimestamp: time.optional(),
    sentAt: time.optional(),
  })
  .passthrough();

/**
 * What the server accepts: a message route takes any JSON object and a batch any array; a
 * message that is not what SegmentMessage describes is dead-lettered with its reason, and the
 * request still succeeds. So the document offers SegmentMessage as the shape to send, beside
 * "any object" as what is accepted (anyOf), and does not claim a 4xx for a bad message.
 */
const AcceptedMessage = z.union([SegmentMessage, z.record(z.string(), z.unknown())]);

const SegmentError = ErrorResponseSchema.extend({ success: z.literal(false), message: z.string() });
const err = (description: string, headers?: Record<string, string>) => ({ description, schema: SegmentError, headers });
const responses = {
  200: { description: 'every message acknowledged by Kafka (accepted, or dead-lettered with its reason)', schema: z.object({ success: z.literal(true) }) },
  400: err('the body is not a Segment payload (not JSON, not a message, no batch array)'),
  401: err('missing or invalid write key'),
  413: err("over Segment's limits: 32 KB per message route, 500 KB per batch (decompressed), or more messages than MAX_BATCH_EVENTS"),
  415: err('Content-Encoding other than gzip or none'),
  429: err('over the request or event rate for this key', { 'Retry-After': 'seconds to wait' }),
  503: err('the event log (Kafka) is unavailable; nothing was accepted', { 'Retry-After': 'seconds to wait' }),
};

const messageRoute = (type: string, summary: string): RouteSpec =>
  defineRoute({
    method: 'post',
    path: `/v1/${type}`,
    operationId: `segment${type[0].toUpperCase()}${type.slice(1)}`,
    tag: 'ingest',
    auth: 'segment_write',
    summary,
    description: `Segment's ${type} call, one message (also at /v1/${type[0]}).`,
    body: AcceptedMessage,
    responses,
  });

export const SEGMENT_SPECS: RouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/v1/batch',
    operationId: 'segmentBatch',
    tag: 'ingest',
    auth: 'segment_write',
    summary: 'Segment-compatible batch (Segment and RudderStack SDKs)',
    description: 'Segment\'s HTTP Tracking API batch (also at /v1/b). A batch context is merged under each message\'s; other top-level fields (writeKey, integrations) are ignored. Identify, group and alias are kept in the master dataset and counted in no metric.',
    body: z.object({ batch: z.array(z.union([SegmentMessage, z.unknown()])), sentAt: z.unknown().optional(), context: z.unknown().optional() }).passthrough(),
    responses,
  }),
  messageRoute('track', 'Segment track: an event (install, launch, purchase, error, click, impression or custom)'),
  messageRoute('screen', 'Segment screen: a custom event named screen:<name>'),
  messageRoute('page', 'Segment page: a custom event named page:<name>'),
  messageRoute('identify', 'Segment identify: archived, counted in no metric'),
  messageRoute('group', 'Segment group: archived, counted in no metric'),
  messageRoute('alias', 'Segment alias: archived, counted in no metric'),
];
