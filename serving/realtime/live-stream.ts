/**
 * `GET /v1/apps/{app}/realtime/stream`: Server-Sent Events. One poller per app, however many
 * dashboards watch it: each tick computes the counters once and writes them to every client
 * of that app. A tick still running when the next is due is skipped, never queued, so a slow
 * store slows updates down instead of piling queries up. Comments are heartbeats that keep
 * proxies from closing an idle connection.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Response } from 'express';
import type { Logger } from '../../infra/logger';
import type { LiveUpdate } from './realtime-schemas';
import { computeLiveUpdate } from './live-counters';

export interface LiveHub {
  /** Starts streaming to `res` until the client disconnects or the hub stops. */
  attach(appId: string, res: Response): void;
  clients(): number;
  stop(): Promise<void>;
}

interface AppFeed {
  clients: Set<Response>;
  tick: NodeJS.Timeout;
  heartbeat: NodeJS.Timeout;
  busy: boolean;
}

export function createLiveHub(deps: {
  ch: ClickHouseClient;
  log: Logger;
  now: () => number;
  intervalMs?: number;
  heartbeatMs?: number;
  compute?: (appId: string, nowMs: number) => Promise<LiveUpdate>;
}): LiveHub {
  const compute = deps.compute ?? ((appId, nowMs) => computeLiveUpdate(deps.ch, appId, nowMs));
  const feeds = new Map<string, AppFeed>();
  let stopped = false;

  const send = (clients: Iterable<Response>, chunk: string) => {
    for (const res of clients) res.write(chunk);
  };

  async function tick(appId: string, feed: AppFeed): Promise<void> {
    if (feed.busy) return;
    feed.busy = true;
    try {
      const update = await compute(appId, deps.now());
      if (feeds.get(appId) === feed) send(feed.clients, `data: ${JSON.stringify(update)}\n\n`);
    } catch (err) {
      // The stream stays open: the next tick retries, and the client sees the gap as a comment.
      deps.log.warn({ err, app_id: appId }, 'live update failed');
      send(feed.clients, ': update failed, retrying\n\n');
    } finally {
      feed.busy = false;
    }
  }

  function detach(appId: string, res: Response): void {
    const feed = feeds.get(appId);
    if (!feed || !feed.clients.delete(res)) return;
    if (feed.clients.size === 0) {
      clearInterval(feed.tick);
      clearInterval(feed.heartbeat);
      feeds.delete(appId);
    }
  }

  return {
    attach(appId, res) {
      if (stopped) {
        res.status(503).end();
        return;
      }
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('Connection', 'keep-alive');
      res.setHeader('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
      res.flushHeaders();
      res.write('retry: 3000\n: connected\n\n');
      let feed = feeds.get(appId);
      if (!feed) {
        const f: AppFeed = {
          clients: new Set(),
          busy: false,
          tick: setInterval(() => void tick(appId, f), deps.intervalMs ?? 1000),
          heartbeat: setInterval(() => send(f.clients, ': heartbeat\n\n'), deps.heartbeatMs ?? 15_000),
        };
        feeds.set(appId, f);
        feed = f;
        void tick(appId, f); // the first update now, not a second later
      }
      feed.clients.add(res);
      res.on('close', () => detach(appId, res));
    },
    clients: () => [...feeds.values()].reduce((n, f) => n + f.clients.size, 0),
    async stop() {
      stopped = true;
      for (const [appId, feed] of [...feeds]) {
        for (const res of [...feed.clients]) {
          detach(appId, res);
          res.end();
        }
      }
    },
  };
}
