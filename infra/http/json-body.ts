import express, { type RequestHandler } from 'express';

/**
 * The JSON body of an admin route, read whatever the Content-Type says: `curl -d '{…}'` sends
 * `application/x-www-form-urlencoded`, and ignoring such a body would answer "body must be a
 * JSON object" to a request that sent one. Gzip and deflate bodies are inflated.
 */
export const jsonBody = (opts: { limit: string; strict?: boolean }): RequestHandler => express.json({ ...opts, type: () => true });
