/**
 * Specs of the routes other roles serve (collector, its Segment routes, admin, batch, health), described from
 * DESIGN.md section 7 so the one OpenAPI document covers the whole HTTP interface. Their
 * handlers live elsewhere and validate on their own; the event body reuses the event's one
 * definition (schemas/event.ts).
 */
import { z } from 'zod';
import { WireEventSchema } from '../../schemas/event';
import { KEY_FIELDS, MAX_LOOKBACK_DAYS } from '../../infra/apps/app-input';
import { CIDR_PATTERN } from '../../schemas/cidr';
import { ErrorResponseSchema } from '../http/query-params';
import { BAD_REQUEST, NOT_FOUND, RATE_LIMITED, UNAUTHORIZED } from './common-responses';
import { defineRoute, type RouteSpec } from './route-spec';
import { SEGMENT_SPECS } from './segment-routes';

const time = z.union([z.number().int(), z.string()]).describe('epoch ms or ISO-8601');
const conflict = { description: 'conflict; the message says why', schema: ErrorResponseSchema };
const unavailable = { description: 'a dependency is unavailable; retry after Retry-After', schema: ErrorResponseSchema, headers: { 'Retry-After': 'seconds' } };

// Request bodies are strict objects (additionalProperties: false): the admin routes and the
// collector refuse unknown fields with 400, and the document says so.
const AppSettings = z.strictObject({
  lookback_days: z.number().int().min(1).max(MAX_LOOKBACK_DAYS).optional().describe('attribution lookback, days (default LOOKBACK_DAYS)'),
  ip_blocklist: z
    .array(z.string().regex(new RegExp(CIDR_PATTERN)))
    .max(10_000)
    .optional()
    .describe('CIDR ranges (IPv4 or IPv6; a bare address is one host) whose clicks and installs are rejected as blocked_ip'),
});

/**
 * A calendar day from 2000-01-01 (no event is older) to 9999-12-31, leap days included: the
 * days a batch run accepts (batch-layer/days.ts dayStartMs; test/unit/openapi-document.test.ts
 * checks they agree). A day not yet closed is a 409, not a 400.
 */
export const BATCH_DAY_PATTERN =
  '^(?:(?:[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29|[2-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8])))$';
const AppOut = z.object({
  app_id: z.string(),
  lookback_days: z.number().int(),
  ip_blocklist: z.array(z.string()),
  disabled: z.boolean().describe("a disabled app's write and read keys get 401"),
});
const AppChange = AppSettings.extend({
  rotate: z
    .array(z.enum(KEY_FIELDS))
    .min(1)
    .max(2)
    .optional()
    .describe('keys to replace: the new ones are in the answer, once; the old ones keep working until old_keys_valid_until (KEY_GRACE_SECONDS)'),
  disabled: z.boolean().optional().describe("true: refuse the app's keys (401) until set to false again; its data stays"),
});

const BatchRun = z
  .object({
    id: z.string(),
    day: z.string(),
    days: z.array(z.string()),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    requested_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    rows_read: z.number().int().nullable(),
    duplicates_dropped: z.number().int().nullable(),
    late_events: z.number().int().nullable(),
    input_files: z.number().int().nullable(),
    error: z.string().nullable(),
    attribution_diff: z.unknown(),
    drift: z.unknown(),
  })
  .passthrough();

// Every admin route refuses query parameters (400) and a missing or wrong token (401).
const admin = { 400: BAD_REQUEST, 401: UNAUTHORIZED };

export const PLATFORM_SPECS: RouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/v1/events',
    operationId: 'sendEvents',
    tag: 'ingest',
    auth: 'write',
    summary: 'Send a batch of events (gzip accepted)',
    description: 'Answers once every accepted event is acknowledged by Kafka; invalid events are dead-lettered and listed in rejected.',
    // Each event is validated on its own: one that is not a WireEvent is listed in `rejected`
    // (202), never a reason to refuse the request, so any item is accepted (anyOf).
    body: z.strictObject({ events: z.array(z.union([WireEventSchema, z.unknown()])), sent_at: time.nullable().optional() }),
    responses: {
      202: {
        description: 'accepted',
        schema: z.object({
          accepted: z.number().int(),
          rejected: z.array(z.object({ index: z.number().int(), event_id: z.string().nullable(), reason: z.string() })),
        }),
      },
      400: BAD_REQUEST,
      401: UNAUTHORIZED,
      413: { description: 'body (decompressed) or batch too large', schema: ErrorResponseSchema },
      415: { description: 'Content-Encoding other than gzip or none', schema: ErrorResponseSchema },
      429: RATE_LIMITED,
      503: unavailable,
    },
  }),
  ...SEGMENT_SPECS,
  defineRoute({
    method: 'post',
    path: '/v1/admin/apps',
    operationId: 'createApp',
    tag: 'admin',
    auth: 'admin',
    summary: 'Create an app; its keys are shown once',
    body: AppSettings.extend({ app_id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/) }),
    responses: { 201: { description: 'created', schema: AppOut.extend({ write_key: z.string(), read_key: z.string() }) }, ...admin, 409: conflict },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/apps',
    operationId: 'listApps',
    tag: 'admin',
    auth: 'admin',
    summary: 'List apps',
    responses: { 200: { description: 'apps', schema: z.object({ apps: z.array(AppOut.extend({ created_at: z.string() })) }) }, ...admin },
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/apps/{app}',
    operationId: 'updateApp',
    tag: 'admin',
    auth: 'admin',
    summary: "Change an app's settings, rotate its keys, disable or enable it",
    body: AppChange,
    responses: {
      200: {
        description: "the app's settings, and the new keys of a rotation (shown once)",
        schema: AppOut.extend({ write_key: z.string().optional(), read_key: z.string().optional(), old_keys_valid_until: z.string().optional() }),
      },
      ...admin,
      404: NOT_FOUND,
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/batch/runs',
    operationId: 'requestBatchRun',
    tag: 'admin',
    auth: 'admin',
    summary: 'Recompute the batch views of day d − k … d',
    body: z.strictObject({ day: z.string().regex(new RegExp(BATCH_DAY_PATTERN)).describe('YYYY-MM-DD (UTC), from 2000-01-01') }),
    responses: { 202: { description: 'queued', schema: z.object({ run: BatchRun }) }, ...admin, 409: conflict, 503: unavailable },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/batch/runs',
    operationId: 'listBatchRuns',
    tag: 'admin',
    auth: 'admin',
    summary: 'Batch runs',
    responses: { 200: { description: 'runs', schema: z.object({ runs: z.array(BatchRun) }) }, ...admin },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/batch/runs/{id}',
    operationId: 'getBatchRun',
    tag: 'admin',
    auth: 'admin',
    summary: 'One batch run',
    responses: { 200: { description: 'the run', schema: BatchRun }, ...admin, 404: NOT_FOUND },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/boundary',
    operationId: 'boundary',
    tag: 'admin',
    auth: 'admin',
    summary: 'Batch boundary and covered days',
    responses: { 200: { description: 'coverage', schema: z.object({ boundary: z.string().nullable(), covered_days: z.array(z.string()) }) }, ...admin },
  }),
  defineRoute({
    method: 'get',
    path: '/health',
    operationId: 'health',
    tag: 'operations',
    auth: 'none',
    summary: 'Liveness: every consumer of this process (archiver, speed layer) still running',
    responses: {
      200: { description: 'alive', schema: z.object({ status: z.literal('ok'), components: z.record(z.string(), z.string()) }) },
      503: { description: 'a consumer stopped for good', schema: z.object({ status: z.literal('unhealthy'), components: z.record(z.string(), z.string()) }) },
    },
  }),
  defineRoute({
    method: 'get',
    path: '/ready',
    operationId: 'ready',
    tag: 'operations',
    auth: 'none',
    summary: 'Readiness: Kafka, ClickHouse and the object store reachable, no consumer stalled on failing writes',
    responses: {
      200: { description: 'ready', schema: z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }) },
      503: { description: 'not ready', schema: z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }) },
    },
  }),
  defineRoute({
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'operations',
    auth: 'none',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
  }),
  defineRoute({
    method: 'get',
    path: '/',
    operationId: 'dashboard',
    tag: 'operations',
    auth: 'none',
    summary: 'The dashboard page',
    responses: { 200: { description: 'HTML', contentType: 'text/html' } },
  }),
];
