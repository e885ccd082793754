import type { RequestHandler } from 'express';
import { AppError } from '../errors';
import { secretsEqual } from '../apps/app-registry';
import { bearerToken } from './errors-middleware';

/**
 * Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. None of
 * them takes a query parameter: one is refused (400) rather than silently ignored, as the read
 * routes do (DESIGN.md section 6: unknown keys get a clear 4xx and change nothing).
 */
export function requireAdmin(adminToken: string): RequestHandler {
  return (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (!token || !secretsEqual(token, adminToken)) {
      next(new AppError('unauthorized', 'admin routes need Authorization: Bearer <ADMIN_TOKEN>'));
      return;
    }
    const params = Object.keys(req.query ?? {});
    if (params.length) {
      next(new AppError('bad_request', `unknown parameter(s) ${params.map((p) => p.slice(0, 64)).join(', ')}; admin routes take no query parameters`));
      return;
    }
    next();
  };
}
