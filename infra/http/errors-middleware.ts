import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger';
import { AppError } from '../errors';

/** Renders every error as `{ error: { code, message } }` with the status of its code. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof AppError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
      return;
    }
    // express' own body/URI errors carry a status (e.g. malformed percent-encoding).
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log.error({ err }, 'unhandled error');
    res.status(status).json({ error: { code: status === 500 ? 'internal' : 'bad_request', message: status === 500 ? 'internal error' : String(err.message ?? 'bad request') } });
  };
}

export const notFound: RequestHandler = (req, _res, next) =>
  next(new AppError('not_found', `no route ${req.method} ${req.path}`));

/** Wraps an async handler so a rejection reaches the error middleware. */
export const asyncRoute =
  (fn: (...a: Parameters<RequestHandler>) => Promise<unknown>): RequestHandler =>
  (req, res, next) => {
    fn(req, res, next).catch(next);
  };

/** `Authorization: Bearer <token>`; '' when absent or malformed. */
export function bearerToken(header: string | undefined): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1] : '';
}
