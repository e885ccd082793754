/**
 * The OpenAPI document against what the routes answer (DESIGN.md section 7): the shapes and
 * statuses a client reads from it must be the ones it gets.
 */
import fc from 'fast-check';
import { dayStartMs, FIRST_DAY } from '../../batch-layer/days';
import { validateAppSettings } from '../../infra/apps/app-input';
import { CIDR_PATTERN, invalidCidrs } from '../../schemas/cidr';
import { buildOpenApi } from '../../serving/openapi/build-openapi';
import { BATCH_DAY_PATTERN, PLATFORM_SPECS } from '../../serving/openapi/platform-routes';

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

  type BodySchema = { additionalProperties?: boolean; properties: Record<string, { pattern?: string; items?: { pattern?: string } }> };
  const body = (path: string, method: string): BodySchema =>
    (doc.paths[path][method] as unknown as { requestBody: { content: Record<string, { schema: BodySchema }> } }).requestBody.content['application/json'].schema;

  it('refuses unknown body fields where the server does (additionalProperties: false)', () => {
    for (const [path, method] of [['/v1/admin/apps', 'post'], ['/v1/admin/apps/{app}', 'patch'], ['/v1/admin/batch/runs', 'post'], ['/v1/events', 'post']]) {
      expect([path, method, body(path, method).additionalProperties]).toEqual([path, method, false]);
    }
    expect(Object.keys(body('/v1/admin/apps/{app}', 'patch').properties).sort()).toEqual(['disabled', 'ip_blocklist', 'lookback_days', 'rotate']);
  });

  it('publishes the CIDR pattern the server checks for ip_blocklist items', () => {
    // zod writes the pattern as RegExp.source (`/` escaped): the same expression.
    const source = new RegExp(CIDR_PATTERN).source;
    expect(body('/v1/admin/apps', 'post').properties.ip_blocklist.items?.pattern).toBe(source);
    expect(body('/v1/admin/apps/{app}', 'patch').properties.ip_blocklist.items?.pattern).toBe(source);
    expect(CIDR_PATTERN).not.toContain('\\d'); // Python's \d (schemathesis) takes any Unicode digit
  });

  it('accepts on the server every CIDR the pattern allows, and the pattern refuses what the server refuses', () => {
    fc.assert(
      fc.property(fc.stringMatching(new RegExp(CIDR_PATTERN)), (cidr) => {
        expect(invalidCidrs([cidr])).toEqual([]);
        expect(() => validateAppSettings({ ip_blocklist: [cidr] }, true)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
    for (const bad of ['10.0.0.0/33', '1.2.3', '01.2.3.4', 'x', ' 10.0.0.0/8', '2001:db8::/129', '1::2::3', '']) {
      expect([bad, new RegExp(CIDR_PATTERN).test(bad), invalidCidrs([bad])]).toEqual([bad, false, [bad]]);
    }
  });

  it('allows exactly the days a batch run accepts (real calendar days from 2000-01-01)', () => {
    const re = new RegExp(BATCH_DAY_PATTERN);
    expect(body('/v1/admin/batch/runs', 'post').properties.day.pattern).toBe(BATCH_DAY_PATTERN);
    expect(BATCH_DAY_PATTERN).not.toContain('\\d');
    const serverAccepts = (d: string) => dayStartMs(d) !== undefined && d >= FIRST_DAY;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (y, m, d) => {
        const day = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        expect([day, re.test(day)]).toEqual([day, serverAccepts(day)]);
      }),
      { numRuns: 5000 },
    );
    for (const day of ['0000-00-00', '1999-12-31', '2000-02-29', '2100-02-29', '2400-02-29', '2027-02-29', '2028-02-29', '9999-12-31']) {
      expect([day, re.test(day)]).toEqual([day, serverAccepts(day)]);
    }
  });
});
