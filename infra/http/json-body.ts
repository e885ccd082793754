import express, { type RequestHandler } from 'express';
import { AppError } from '../errors';

/**
 * The JSON body of an admin route, read whatever the Content-Type says: `curl -d '{…}'` sends
 * `application/x-www-form-urlencoded`, and ignoring such a body would answer "body must be a
 * JSON object" to a request that sent one. Gzip and deflate bodies are inflated. An empty body is refused.
 */
export function jsonBody(opts: { limit: string; strict?: boolean }): RequestHandler {
  const parse = express.json({ ...opts, type: () => true });
  return (req, res, next) => {
    // body-parser reads an empty body as {}: a PATCH without a body would then change nothing
    // and answer 200, while the route (and its OpenAPI document) require a JSON object.
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0)) {
      next(new AppError('invalid_body', 'a JSON object body is required'));
      return;
    }
    parse(req, res, next);
  };
}
