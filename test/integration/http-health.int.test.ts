/** `/health` reports the consumers of the process: 503 once one of them stopped for good. */
import pino from 'pino';
import { Registry } from 'prom-client';
import { startHttpServer } from '../../infra/http/http-server';

describe('/health', () => {
  it('is ok while every consumer runs and 503 naming the one that stopped', async () => {
    let speedRunning = true;
    const http = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      routers: [],
      adminRouters: [],
      checks: {},
      health: { archiver: () => true, speed: () => speedRunning },
      registry: new Registry(),
      log: pino({ level: 'silent' }),
    });
    try {
      const ok = await fetch(`${http.url}/health`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: 'ok', components: { archiver: 'ok', speed: 'ok' } });
      speedRunning = false;
      const down = await fetch(`${http.url}/health`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'unhealthy', components: { archiver: 'ok', speed: 'stopped' } });
    } finally {
      await http.stop();
    }
  });
});
