/** Error responses shared by the routes' specs (bodies rendered by infra/http/errors-middleware.ts). */
import { ErrorResponseSchema } from '../http/query-params';
import type { ResponseSpec } from './route-spec';

const err = (description: string, headers?: Record<string, string>): ResponseSpec => ({ description, schema: ErrorResponseSchema, headers });

export const BAD_REQUEST = err('invalid parameters; the message says what is allowed');
export const UNAUTHORIZED = err('missing or invalid key / token');
export const NOT_FOUND = err('no such app for this key (also when the key belongs to another app)');
export const RATE_LIMITED = err('over the request rate for this key', { 'Retry-After': 'seconds to wait' });

export const READ_ERRORS = { 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND, 429: RATE_LIMITED } as const;
