/** `GET /openapi.json` and `GET /docs`: the document is built once, from every route spec. */
import type { Router } from 'express';
import { z } from 'zod';
import { defineRoute, type RouteSpec } from './route-spec';
import { buildOpenApi } from './build-openapi';
import { renderDocsPage } from './docs-page';

export const OPENAPI_SPEC = defineRoute({
  method: 'get',
  path: '/openapi.json',
  operationId: 'openapi',
  tag: 'operations',
  auth: 'none',
  summary: 'This OpenAPI 3.1 document',
  responses: { 200: { description: 'the document', schema: z.object({ openapi: z.string() }).passthrough() } },
});
export const DOCS_SPEC = defineRoute({
  method: 'get',
  path: '/docs',
  operationId: 'docs',
  tag: 'operations',
  auth: 'none',
  summary: 'The document as an HTML page',
  responses: { 200: { description: 'HTML', contentType: 'text/html' } },
});

export function registerOpenApiRoutes(router: Router, specs: readonly RouteSpec[], version: string): Record<string, unknown> {
  const doc = buildOpenApi([...specs, OPENAPI_SPEC, DOCS_SPEC], { version });
  const body = JSON.stringify(doc);
  const page = renderDocsPage(doc);
  router.get(OPENAPI_SPEC.path, (_req, res) => {
    res.type('application/json').send(body);
  });
  router.get(DOCS_SPEC.path, (_req, res) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.type('text/html').send(page);
  });
  return doc;
}
