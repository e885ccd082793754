/** `GET /v1/apps/{app}/realtime`, `/realtime/stream` and `/errors/top` (DESIGN.md section 7). */
import type { ClickHouseClient } from '@clickhouse/client';
import type { RequestHandler, Router } from 'express';
import { appOf, keyOf } from '../http/read-access';
import { READ_ERRORS } from '../openapi/common-responses';
import { defineRoute, getRoute } from '../openapi/route-spec';
import type { LiveHub } from './live-stream';
import { LiveUpdateSchema, RealtimeQuerySchema, RealtimeResponseSchema, StreamQuerySchema, TopErrorsQuerySchema, TopErrorsResponseSchema } from './realtime-schemas';
import { readSeries, readTopErrors } from './realtime-sql';

export const REALTIME_SPEC = defineRoute({
  method: 'get',
  path: '/v1/apps/{app}/realtime',
  operationId: 'realtime',
  tag: 'real-time',
  summary: 'Per-step counts of the last window, by event time (speed views)',
  auth: 'read',
  query: RealtimeQuerySchema,
  responses: { 200: { description: 'the series, newest last', schema: RealtimeResponseSchema }, ...READ_ERRORS },
});

export const TOP_ERRORS_SPEC = defineRoute({
  method: 'get',
  path: '/v1/apps/{app}/errors/top',
  operationId: 'topErrors',
  tag: 'real-time',
  summary: 'Most frequent error fingerprints of the last window, by event time',
  auth: 'read',
  query: TopErrorsQuerySchema,
  responses: { 200: { description: 'fingerprints, most frequent first', schema: TopErrorsResponseSchema }, ...READ_ERRORS },
});

export function registerRealtimeRoutes(router: Router, access: RequestHandler, deps: { ch: ClickHouseClient; now: () => number }): void {
  getRoute(router, REALTIME_SPEC, [access], async (_req, res, q) => {
    const now = deps.now();
    const series = await readSeries(deps.ch, appOf(res).app_id, now, q.window, q.step);
    res.json({ now: new Date(now).toISOString(), step: q.step, series });
  });
  getRoute(router, TOP_ERRORS_SPEC, [access], async (_req, res, q) => {
    res.json({ rows: await readTopErrors(deps.ch, appOf(res).app_id, deps.now(), q.window, q.limit) });
  });
}

export const STREAM_SPEC = defineRoute({
  method: 'get',
  path: '/v1/apps/{app}/realtime/stream',
  operationId: 'realtimeStream',
  tag: 'real-time',
  summary: 'Server-Sent Events: one data: message per second with the live counters, heartbeat comments',
  description:
    'Each data: line is a JSON LiveUpdate: events/s of the last minute, last-minute and last-hour totals, today\'s installs by channel and fraud rejections by reason, top errors of the last hour. ' +
    'A key holds at most MAX_STREAMS_PER_KEY streams (429 beyond). A stream ends with an `end` event when its key is rotated out (after the grace period) or its app disabled.',
  auth: 'read_or_query_key',
  query: StreamQuerySchema,
  responses: { 200: { description: 'an endless text/event-stream', contentType: 'text/event-stream', schema: LiveUpdateSchema }, ...READ_ERRORS },
});

export function registerStreamRoute(router: Router, access: RequestHandler, hub: LiveHub): void {
  getRoute(router, STREAM_SPEC, [access], async (_req, res) => {
    hub.attach(appOf(res).app_id, keyOf(res), res);
  });
}
