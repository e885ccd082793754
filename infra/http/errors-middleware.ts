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
    const { code, message } = status === 500 ? { code: 'internal', message: 'internal error' } : describeClientError(err, status);
    res.status(status).json({ error: { code, message } });
  };
}

/** The code and a message that says what is allowed for a 4xx raised by express or its JSON body parser. */
function describeClientError(err: { type?: unknown; message?: unknown; limit?: unknown }, status: number): { code: string; message: string } {
  const detail = String(err.message ?? 'bad request');
  if (err.type === 'entity.parse.failed') return { code: 'invalid_body', message: `body is not valid JSON (${detail}); send a JSON object` };
  if (status === 413) {
    return { code: 'payload_too_large', message: `body is too large${typeof err.limit === 'number' ? `; at most ${err.limit} bytes allowed` : ''}` };
  }
  if (status === 415) return { code: 'unsupported_media_type', message: `${detail}; send UTF-8 JSON, uncompressed or gzip` };
  return { code: 'bad_request', message: detail };
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

/** The user name of `Authorization: Basic base64(user:password)`; '' when absent or malformed. */
export function basicAuthUser(header: string | undefined): string {
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (!m) return '';
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(0, colon);
}
