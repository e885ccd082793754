/**
 * Read-route access (DESIGN.md sections 6 and 7): the read key of `{app}` only. A missing,
 * unknown or write key is 401; another app's valid read key is 404, the same answer as for an
 * app that does not exist, so a key cannot probe which apps exist. Then a per-key rate limit.
 */
import type { RequestHandler } from 'express';
import { AppError } from '../../infra/errors';
import { APP_ID_RE } from '../../infra/apps/app-input';
import type { App, AppRegistry } from '../../infra/apps/app-registry';
import { asyncRoute, bearerToken } from '../../infra/http/errors-middleware';
import type { RateLimiter } from '../../infra/http/rate-limiter';

export interface ReadAccessDeps {
  apps: AppRegistry;
  limiter: RateLimiter;
  ratePerS: number;
}

/** The authenticated app of a read route, set by `readAccess`. */
export const appOf = (res: { locals: Record<string, unknown> }): App => res.locals.app as App;
/** The read key a read route was opened with (the live stream re-checks it), set by `readAccess`. */
export const keyOf = (res: { locals: Record<string, unknown> }): string => res.locals.key as string;

export function readAccess(deps: ReadAccessDeps, opts: { allowQueryKey: boolean }): RequestHandler {
  return asyncRoute(async (req, res, next) => {
    let key = bearerToken(req.headers.authorization);
    // EventSource cannot set headers, so the stream route also takes ?key=.
    if (!key && opts.allowQueryKey && typeof req.query.key === 'string') key = req.query.key;
    const how = opts.allowQueryKey ? 'Authorization: Bearer <read key> or ?key=<read key>' : 'Authorization: Bearer <read key>';
    if (!key) throw new AppError('unauthorized', `a read key is required: ${how}`);
    const app = await deps.apps.authenticate(key, 'read');
    if (!app) throw new AppError('unauthorized', `not a valid read key; send ${how}`);
    const wanted = String(req.params.app);
    if (app.app_id !== wanted) {
      throw new AppError('not_found', `app ${APP_ID_RE.test(wanted) ? wanted : '(invalid id)'} not found`);
    }
    const rate = deps.limiter.take(key);
    if (!rate.ok) throw new AppError('rate_limited', `over ${deps.ratePerS} requests/s for this key`, { 'Retry-After': String(rate.retryAfterS) });
    res.locals.app = app;
    res.locals.key = key;
    next();
  });
}
