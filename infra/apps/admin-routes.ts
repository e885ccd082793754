/**
 * `POST/GET /v1/admin/apps`, `PATCH /v1/admin/apps/{app}` (DESIGN.md section 7). A PATCH may
 * also rotate keys (`"rotate": ["write_key", "read_key"]`: the new keys are in the answer,
 * once) and disable or enable the app (`"disabled": true|false`).
 */
import { Router } from 'express';
import { AppError } from '../errors';
import { asyncRoute } from '../http/errors-middleware';
import { requireAdmin } from '../http/admin-auth';
import { jsonBody as readJson } from '../http/json-body';
import { APP_ID_RE, validateAppSettings } from './app-input';
import type { App, AppRegistry } from './app-registry';

const jsonBody = readJson({ limit: '1mb', strict: false });

export function adminAppsRouter(deps: { apps: AppRegistry; adminToken: string }): Router {
  const r = Router();
  r.use('/v1/admin', requireAdmin(deps.adminToken));
  r.post(
    '/v1/admin/apps',
    jsonBody,
    asyncRoute(async (req, res) => {
      const input = validateAppSettings(req.body, false);
      const created = await deps.apps.create(input.app_id as string, input);
      res.status(201).json({ app_id: created.app.app_id, write_key: created.write_key, read_key: created.read_key, ...settingsOf(created.app) });
    }),
  );
  r.get(
    '/v1/admin/apps',
    asyncRoute(async (_req, res) => {
      res.json({ apps: (await deps.apps.list()).map((a) => ({ app_id: a.app_id, ...settingsOf(a), created_at: a.created_at })) });
    }),
  );
  r.patch(
    '/v1/admin/apps/:app',
    jsonBody,
    asyncRoute(async (req, res) => {
      const appId = String(req.params.app);
      if (!APP_ID_RE.test(appId)) throw new AppError('not_found', `app ${appId} does not exist`);
      const { app, keys, old_keys_valid_until } = await deps.apps.update(appId, validateAppSettings(req.body, true));
      res.json({ app_id: app.app_id, ...settingsOf(app), ...keys, ...(old_keys_valid_until ? { old_keys_valid_until } : {}) });
    }),
  );
  return r;
}

const settingsOf = (a: App) => ({ lookback_days: a.lookback_days, ip_blocklist: a.ip_blocklist, disabled: a.disabled });
