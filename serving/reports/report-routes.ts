/** `GET /v1/apps/{app}/reports/hourly|daily` (DESIGN.md sections 5 and 7). */
import type { ClickHouseClient } from '@clickhouse/client';
import type { RequestHandler, Router } from 'express';
import { appOf } from '../http/read-access';
import { READ_ERRORS } from '../openapi/common-responses';
import { defineRoute, getRoute } from '../openapi/route-spec';
import { parseReportQuery, type ReportLimits } from './parse-report-query';
import { GRANULARITIES, ReportQuerySchema, ReportResponseSchema, type Granularity } from './report-schemas';
import { runReportJson } from './run-report';
import type { SegmentCache } from './segment-cache';

const reportSpec = (g: Granularity) =>
  defineRoute({
    method: 'get',
    path: `/v1/apps/{app}/reports/${g}`,
    operationId: `${g}Report`,
    tag: 'reports',
    summary: `${g === 'hourly' ? 'Hourly (UTC hours)' : 'Daily (days in tz)'} report`,
    description:
      'Rows for buckets starting in [from, to), per bucket and group, answered from batch views for covered UTC days and from speed views otherwise. ' +
      'Filters: values of one dimension are OR-ed, dimensions AND-ed.',
    auth: 'read',
    query: ReportQuerySchema,
    responses: { 200: { description: 'report rows ordered by bucket then group values (byte order)', schema: ReportResponseSchema }, ...READ_ERRORS },
  });

export const REPORT_SPECS = { hourly: reportSpec('hourly'), daily: reportSpec('daily') } satisfies Record<Granularity, unknown>;

export function registerReportRoutes(router: Router, access: RequestHandler, deps: { ch: ClickHouseClient; limits: ReportLimits; cache: SegmentCache }): void {
  for (const granularity of GRANULARITIES) {
    getRoute(router, REPORT_SPECS[granularity], [access], async (_req, res, query) => {
      const q = parseReportQuery(appOf(res).app_id, granularity, query, deps.limits);
      // The body comes as JSON text (rows rendered by ClickHouse): the JSON res.json would send, without parsing and stringifying every row.
      const chunks = await runReportJson(deps.ch, q, deps.limits.maxReportRows, deps.cache);
      res.type('application/json').setHeader('Content-Length', chunks.reduce((n, c) => n + c.length, 0));
      // Corked: the chunks leave in one writev rather than one write per day.
      res.cork();
      for (const c of chunks) res.write(c);
      res.end();
    });
  }
}
