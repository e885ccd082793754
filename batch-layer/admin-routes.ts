/** Admin API of the batch layer (DESIGN.md section 7), behind the admin token. */
import express, { type Router } from 'express';
import { AppError } from '../infra/errors';
import { requireAdmin } from '../infra/http/admin-auth';
import { asyncRoute } from '../infra/http/errors-middleware';
import { jsonBody } from '../infra/http/json-body';
import type { BatchRunner } from './batch-runner';
import { publicRun, type RunStore } from './run-store';

const RUN_ID_RE = /^[0-9a-f-]{36}$/;

export function batchAdminRouter(deps: { runner: BatchRunner; runs: RunStore; adminToken: string }): Router {
  const router = express.Router();
  const admin = requireAdmin(deps.adminToken);

  router.post(
    '/v1/admin/batch/runs',
    admin,
    jsonBody({ limit: '4kb' }),
    asyncRoute(async (req, res) => {
      const body: unknown = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('bad_request', 'body must be a JSON object { "day": "YYYY-MM-DD" }');
      const unknown = Object.keys(body).filter((k) => k !== 'day');
      if (unknown.length) throw new AppError('bad_request', `unknown field(s) ${unknown.join(', ')}; allowed: day`);
      const day = (body as { day?: unknown }).day;
      if (typeof day !== 'string') throw new AppError('bad_request', 'day is required: a date YYYY-MM-DD (UTC)');
      const run = await deps.runner.request(day);
      res.status(202).json({ run });
    }),
  );

  router.get(
    '/v1/admin/batch/runs',
    admin,
    asyncRoute(async (_req, res) => {
      res.json({ runs: (await deps.runs.list()).map(publicRun) });
    }),
  );

  router.get(
    '/v1/admin/batch/runs/:id',
    admin,
    asyncRoute(async (req, res) => {
      const id = String(req.params.id);
      const run = RUN_ID_RE.test(id) ? await deps.runs.get(id) : undefined;
      if (!run) throw new AppError('not_found', `no batch run ${JSON.stringify(id)}`);
      res.json(publicRun(run));
    }),
  );

  router.get(
    '/v1/admin/boundary',
    admin,
    asyncRoute(async (_req, res) => {
      res.json(await deps.runs.boundary());
    }),
  );

  return router;
}
