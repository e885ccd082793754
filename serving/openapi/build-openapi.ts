/**
 * The OpenAPI 3.1 document, generated from the route specs (route-spec.ts) and their zod
 * schemas. zod emits JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect.
 */
import { z } from 'zod';
import { APP_ID_RE } from '../../infra/apps/app-input';
import type { Auth, RouteSpec } from './route-spec';

type Json = Record<string, unknown>;

const SECURITY: Record<Auth, Json[]> = {
  none: [],
  read: [{ readKey: [] }],
  read_or_query_key: [{ readKey: [] }, { readKeyQuery: [] }],
  write: [{ writeKey: [] }],
  segment_write: [{ writeKeyBasic: [] }, { writeKey: [] }],
  admin: [{ adminToken: [] }],
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

function queryParameters(schema: z.ZodType): Json[] {
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, prop]) => {
    const { description, ...s } = prop;
    return { name, in: 'query', required: (js.required ?? []).includes(name), description, schema: s, ...(s.type === 'array' ? { style: 'form', explode: true } : {}) };
  });
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: name === 'app' ? { type: 'string', pattern: APP_ID_RE.source } : { type: 'string' },
  }));
}

function operation(spec: RouteSpec): Json {
  const responses = Object.fromEntries(
    Object.entries(spec.responses).map(([status, r]) => [
      status,
      {
        description: r.description,
        ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
        ...(r.schema || r.contentType ? { content: { [r.contentType ?? 'application/json']: r.schema ? { schema: jsonSchema(r.schema, 'output') } : {} } } : {}),
      },
    ]),
  );
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    security: SECURITY[spec.auth],
    parameters: [...pathParameters(spec.path), ...(spec.query ? queryParameters(spec.query) : [])],
    ...(spec.body ? { requestBody: { required: true, content: { [spec.bodyContentType ?? 'application/json']: { schema: jsonSchema(spec.body, 'input') } } } } : {}),
    responses,
  };
}

export function buildOpenApi(specs: readonly RouteSpec[], info: { version: string }): Json {
  const paths: Record<string, Json> = {};
  for (const spec of specs) paths[spec.path] = { ...(paths[spec.path] ?? {}), [spec.method]: operation(spec) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'weir',
      version: info.version,
      description: 'Lambda-architecture analytics backend: ingest, reports, real-time, attribution. Errors are { "error": { "code", "message" } }.',
    },
    paths,
    components: {
      securitySchemes: {
        readKey: { type: 'http', scheme: 'bearer', description: "the app's read key" },
        readKeyQuery: { type: 'apiKey', in: 'query', name: 'key', description: 'the read key as ?key= (EventSource)' },
        writeKey: { type: 'http', scheme: 'bearer', description: "the app's write key" },
        writeKeyBasic: { type: 'http', scheme: 'basic', description: "the app's write key as the user name, empty password (what Segment's SDKs send)" },
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
      },
    },
  };
}
