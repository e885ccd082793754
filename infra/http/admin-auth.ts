import type { RequestHandler } from 'express';
import { AppError } from '../errors';
import { secretsEqual } from '../apps/app-registry';
import { bearerToken } from './errors-middleware';

/** Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function requireAdmin(adminToken: string): RequestHandler {
  return (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (!token || !secretsEqual(token, adminToken)) {
      next(new AppError('unauthorized', 'admin routes need Authorization: Bearer <ADMIN_TOKEN>'));
      return;
    }
    next();
  };
}
