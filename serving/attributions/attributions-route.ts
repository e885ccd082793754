/** `GET /v1/apps/{app}/attributions` (DESIGN.md section 7). */
import type { ClickHouseClient } from '@clickhouse/client';
import type { RequestHandler, Router } from 'express';
import { readCoverage } from '../../infra/clickhouse/coverage';
import type { Config } from '../../infra/config';
import { appOf } from '../http/read-access';
import { READ_ERRORS } from '../openapi/common-responses';
import { defineRoute, getRoute } from '../openapi/route-spec';
import { planSources } from '../reports/merge-sources';
import { AttributionsQuerySchema, AttributionsResponseSchema } from './attribution-schemas';
import { buildAttributionsSql, encodeCursor, parseAttributionsQuery, shapeAttributionRow, type RawAttributionRow } from './attributions-query';

export const ATTRIBUTIONS_SPEC = defineRoute({
  method: 'get',
  path: '/v1/apps/{app}/attributions',
  operationId: 'attributions',
  tag: 'attribution',
  summary: 'First installs by install time, with their attribution decision',
  description: 'Batch decisions for covered UTC days, the stream\'s decisions otherwise. Keyset pagination with cursor.',
  auth: 'read',
  query: AttributionsQuerySchema,
  responses: { 200: { description: 'one page of first installs', schema: AttributionsResponseSchema }, ...READ_ERRORS },
});

export function registerAttributionsRoute(router: Router, access: RequestHandler, deps: { ch: ClickHouseClient; limits: Pick<Config['limits'], 'maxReportDaysDaily'> }): void {
  getRoute(router, ATTRIBUTIONS_SPEC, [access], async (_req, res, query) => {
    const q = parseAttributionsQuery(appOf(res).app_id, query, deps.limits);
    const coverage = await readCoverage(deps.ch);
    const { sql, params } = buildAttributionsSql(q, planSources({ loMs: q.fromMs, hiMs: q.toMs }, new Set(coverage.covered_days)));
    const rs = await deps.ch.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    const raw = await rs.json<RawAttributionRow>();
    const page = raw.slice(0, q.limit);
    const last = page[page.length - 1];
    res.json({
      rows: page.map(shapeAttributionRow),
      next_cursor: raw.length > q.limit && last ? encodeCursor(Number(last.ts_ms), last.install_event_id) : null,
    });
  });
}
