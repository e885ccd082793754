/**
 * The OpenAPI document against what the routes answer (DESIGN.md section 7): the shapes and
 * statuses a client reads from it must be the ones it gets.
 */
import { buildOpenApi } from '../../serving/openapi/build-openapi';
import { PLATFORM_SPECS } from '../../serving/openapi/platform-routes';

type Op = { responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> };
const doc = buildOpenApi(PLATFORM_SPECS, { version: 'test' }) as { paths: Record<string, Record<string, Op>> };
const op = (path: string, method: string): Op => doc.paths[path][method];

describe('OpenAPI document', () => {
  it('describes GET /v1/admin/batch/runs/{id} as the bare run the route sends (not wrapped in { run })', () => {
    const props = op('/v1/admin/batch/runs/{id}', 'get').responses['200'].content?.['application/json'].schema.properties ?? {};
    expect(Object.keys(props)).toEqual(expect.arrayContaining(['id', 'day', 'days', 'status', 'requested_at', 'attribution_diff', 'drift']));
    expect(props).not.toHaveProperty('run');
  });

  it('lists every status the collector and the admin routes answer', () => {
    expect(Object.keys(op('/v1/events', 'post').responses)).toEqual(['202', '400', '401', '413', '415', '429', '503']);
    expect(Object.keys(op('/v1/admin/batch/runs', 'post').responses)).toEqual(expect.arrayContaining(['202', '400', '401', '409', '503']));
    for (const [path, method] of [['/v1/admin/apps', 'get'], ['/v1/admin/batch/runs', 'get'], ['/v1/admin/batch/runs/{id}', 'get'], ['/v1/admin/boundary', 'get']]) {
      expect(Object.keys(op(path, method).responses)).toEqual(expect.arrayContaining(['400', '401']));
    }
  });

  it('describes the Segment-compatible routes with Basic or Bearer write key auth and their statuses', () => {
    const full = doc as unknown as { paths: Record<string, Record<string, Op & { security: unknown[] }>>; components: { securitySchemes: Record<string, { scheme?: string }> } };
    for (const type of ['batch', 'track', 'screen', 'page', 'identify', 'group', 'alias']) {
      const o = full.paths[`/v1/${type}`].post;
      expect(Object.keys(o.responses)).toEqual(['200', '400', '401', '413', '415', '429', '503']);
      expect(o.security).toEqual([{ writeKeyBasic: [] }, { writeKey: [] }]);
      expect(Object.keys(o.responses['400'].content?.['application/json'].schema.properties ?? {})).toEqual(['error', 'success', 'message']);
    }
    expect(full.components.securitySchemes.writeKeyBasic.scheme).toBe('basic');
  });
});
