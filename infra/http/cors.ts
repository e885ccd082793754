/**
 * CORS for browsers on the configured origins (`CORS_ORIGINS`): the read API (a read key in
 * `Authorization`) and the collector's write routes (a write key: Segment's browser library
 * posts events from the site's own origin). Preflights are answered here, before
 * authentication, because a browser never sends credentials with them.
 */
import type { RequestHandler } from 'express';

export function corsMiddleware(origins: readonly string[], methods: 'GET' | 'POST'): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  const allowMethods = `${methods}, OPTIONS`;
  return (req, res, next) => {
    const origin = req.headers.origin;
    const ok = origin !== undefined && (any || allowed.has(origin));
    if (ok) {
      // The key travels in a header, not a cookie, so '*' is safe and credentials are never allowed.
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      if (!any) res.append('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
    }
    if (req.method === 'OPTIONS') {
      if (ok) {
        res.setHeader('Access-Control-Allow-Methods', allowMethods);
        // Content-Encoding: SDKs may gzip their bodies; X-Retry-Count: Segment's browser library marks its retries.
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Content-Encoding, Last-Event-ID, X-Retry-Count');
        res.setHeader('Access-Control-Max-Age', '600');
      }
      res.status(204).end();
      return;
    }
    next();
  };
}
