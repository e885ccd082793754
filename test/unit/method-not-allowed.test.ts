/** Which methods a path allows, read from express routers, for 405 + Allow. */
import express, { Router } from 'express';
import { allowedMethods, type RouterLike } from '../../infra/http/method-not-allowed';

const asRouter = (r: unknown) => r as RouterLike;

describe('allowedMethods', () => {
  const apps = Router();
  apps.post('/v1/admin/apps', (_req, res) => void res.end());
  apps.get('/v1/admin/apps', (_req, res) => void res.end());
  apps.patch('/v1/admin/apps/:app', (_req, res) => void res.end());
  const app = express();
  app.get('/health', (_req, res) => void res.end());
  app.use(apps);

  it('collects the methods of every route matching the path, in mounted routers too, HEAD with GET', () => {
    expect(allowedMethods(asRouter(app.router), '/v1/admin/apps')).toEqual(new Set(['POST', 'GET', 'HEAD']));
    expect(allowedMethods(asRouter(app.router), '/v1/admin/apps/shop')).toEqual(new Set(['PATCH']));
    expect(allowedMethods(asRouter(app.router), '/health')).toEqual(new Set(['GET', 'HEAD']));
  });

  it('finds none for a path no route matches (that stays a 404)', () => {
    expect(allowedMethods(asRouter(app.router), '/v1/nothing')).toEqual(new Set());
    expect(allowedMethods(asRouter(app.router), '/v1/admin/apps/shop/more')).toEqual(new Set());
  });

  it('strips the mount prefix of a router mounted on a path', () => {
    const outer = express();
    const inner = Router();
    inner.delete('/things/:id', (_req, res) => void res.end());
    outer.use('/v2', inner);
    expect(allowedMethods(asRouter(outer.router), '/v2/things/7')).toEqual(new Set(['DELETE']));
  });
});
