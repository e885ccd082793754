/**
 * `405 Method Not Allowed` with `Allow` (RFC 9110 section 15.5.6) for a path that exists
 * under another method, instead of the `404` of a path that does not exist. The methods are
 * read from the app's own router, so they are exactly the routes registered in this process
 * (with INTERNAL_PORT, each listener answers for its own routes).
 */
import type { RequestHandler } from 'express';
import { AppError } from '../errors';

/** What this module reads of express' router layers (router 2.x: `match`, `route.methods`, a sub-router's `stack`). */
interface LayerLike {
  route?: { methods: Record<string, boolean> };
  handle: unknown;
  match(path: string): false | { path: string };
}
export interface RouterLike {
  stack: LayerLike[];
}

/** The methods some route of `router` answers on `path`, HEAD included where GET is. */
export function allowedMethods(router: RouterLike, path: string): Set<string> {
  const into = new Set<string>();
  collect(router.stack, path, into);
  return into;
}

function collect(stack: readonly LayerLike[], path: string, into: Set<string>): void {
  for (const layer of stack) {
    const m = layer.match(path);
    if (!m) continue;
    if (layer.route) {
      for (const name of Object.keys(layer.route.methods)) if (name !== '_all') into.add(name.toUpperCase());
      if (layer.route.methods.get) into.add('HEAD');
      continue;
    }
    // A mounted router: its routes see the path without the mount prefix.
    const sub = (layer.handle as Partial<RouterLike>).stack;
    if (Array.isArray(sub)) collect(sub, path.slice(m.path.length) || '/', into);
  }
}

/** Mount after every route and before the 404: answers 405 when the path exists under other methods. */
export function methodNotAllowed(router: RouterLike): RequestHandler {
  return (req, _res, next) => {
    const allowed = allowedMethods(router, req.path);
    if (allowed.size === 0 || allowed.has(req.method)) {
      next();
      return;
    }
    const allow = [...allowed].sort().join(', ');
    next(new AppError('method_not_allowed', `${req.method} is not allowed on ${req.path}; allowed: ${allow}`, { Allow: allow }));
  };
}
