/**
 * A route as data: path, auth, query and response schemas. Serving registers its express
 * routes from these specs (validating with `query`) and the OpenAPI document is generated
 * from the same specs, so the document cannot drift from what the routes accept and return.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { asyncRoute } from '../../infra/http/errors-middleware';
import { parseQuery } from '../http/parse-query';

export type Auth = 'none' | 'read' | 'read_or_query_key' | 'write' | 'segment_write' | 'admin';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteSpec<Q extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'patch';
  /** OpenAPI template, `{app}` for path parameters. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: Auth;
  query?: Q;
  body?: z.ZodType;
  bodyContentType?: string;
  responses: Record<number, ResponseSpec>;
}

export const defineRoute = <Q extends z.ZodType>(spec: RouteSpec<Q>): RouteSpec<Q> => spec;

export const expressPath = (openApiPath: string): string => openApiPath.replace(/\{(\w+)\}/g, ':$1');

/** Registers a GET route whose query string is validated by its spec before the handler runs. */
export function getRoute<Q extends z.ZodType>(
  router: Router,
  spec: RouteSpec<Q>,
  before: RequestHandler[],
  handler: (req: Request, res: Response, query: z.output<Q>) => Promise<void>,
): void {
  router.get(
    expressPath(spec.path),
    ...before,
    asyncRoute(async (req, res) => {
      const query = spec.query ? parseQuery(spec.query, req.query) : ({} as z.output<Q>);
      await handler(req, res, query);
    }),
  );
}
