/**
 * `GET /v1/apps/{app}/realtime/stream`: Server-Sent Events. One poller per app, however many
 * dashboards watch it: each tick computes the counters once and writes them to every client
 * of that app. A tick still running when the next is due is skipped, never queued, so a slow
 * store slows updates down instead of piling queries up. Comments are heartbeats that keep
 * proxies from closing an idle connection.
 *
 * A key holds at most `maxStreamsPerKey` streams (429 beyond). Each tick first checks every
 * key of the feed: a stream whose key was rotated out (its grace period over) or whose app was
 * disabled gets an `end` event and is closed; the EventSource's reconnect then gets 401.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Response } from 'express';
import { AppError } from '../../infra/errors';
import type { Logger } from '../../infra/logger';
import type { LiveUpdate } from './realtime-schemas';
import { computeLiveUpdate } from './live-counters';

export interface LiveHub {
  /** Starts streaming to `res` (opened with read key `key`) until the client disconnects, the key stops being valid or the hub stops; 429 over the key's streams. */
  attach(appId: string, key: string, res: Response): void;
  clients(): number;
  stop(): Promise<void>;
}

interface AppFeed {
  /** Each client's read key. */
  clients: Map<Response, string>;
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
  /** Whether `key` is still a valid read key of `appId` (not rotated out, app not disabled). */
  keyValid: (appId: string, key: string) => Promise<boolean>;
  /** MAX_STREAMS_PER_KEY. */
  maxStreamsPerKey: number;
}): LiveHub {
  const compute = deps.compute ?? ((appId, nowMs) => computeLiveUpdate(deps.ch, appId, nowMs));
  const feeds = new Map<string, AppFeed>();
  const streamsOfKey = new Map<string, number>();
  let stopped = false;

  const send = (clients: Iterable<Response>, chunk: string) => {
    for (const res of clients) res.write(chunk);
  };

  /** Ends the streams whose key is no longer valid. */
  async function endInvalid(appId: string, feed: AppFeed): Promise<void> {
    for (const key of new Set(feed.clients.values())) {
      if (await deps.keyValid(appId, key)) continue;
      for (const [res, k] of [...feed.clients]) {
        if (k !== key) continue;
        res.write(`event: end\ndata: ${JSON.stringify({ reason: 'the read key was rotated out or the app disabled' })}\n\n`);
        detach(appId, res);
        res.end();
      }
    }
  }

  async function tick(appId: string, feed: AppFeed): Promise<void> {
    if (feed.busy) return;
    feed.busy = true;
    try {
      await endInvalid(appId, feed);
      if (feed.clients.size === 0) return;
      const update = await compute(appId, deps.now());
      if (feeds.get(appId) === feed) send(feed.clients.keys(), `data: ${JSON.stringify(update)}\n\n`);
    } catch (err) {
      // The stream stays open: the next tick retries, and the client sees the gap as a comment.
      deps.log.warn({ err, app_id: appId }, 'live update failed');
      send(feed.clients.keys(), ': update failed, retrying\n\n');
    } finally {
      feed.busy = false;
    }
  }

  function detach(appId: string, res: Response): void {
    const feed = feeds.get(appId);
    const key = feed?.clients.get(res);
    if (!feed || key === undefined) return;
    feed.clients.delete(res);
    const n = (streamsOfKey.get(key) ?? 1) - 1;
    if (n > 0) streamsOfKey.set(key, n);
    else streamsOfKey.delete(key);
    if (feed.clients.size === 0) {
      clearInterval(feed.tick);
      clearInterval(feed.heartbeat);
      feeds.delete(appId);
    }
  }

  return {
    attach(appId, key, res) {
      if (stopped) {
        res.status(503).end();
        return;
      }
      const open = streamsOfKey.get(key) ?? 0;
      if (open >= deps.maxStreamsPerKey) {
        throw new AppError('rate_limited', `this key already has ${open} open streams; at most ${deps.maxStreamsPerKey} (MAX_STREAMS_PER_KEY) allowed; close one first`, { 'Retry-After': '5' });
      }
      streamsOfKey.set(key, open + 1);
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
          clients: new Map(),
          busy: false,
          tick: setInterval(() => void tick(appId, f), deps.intervalMs ?? 1000),
          heartbeat: setInterval(() => send(f.clients.keys(), ': heartbeat\n\n'), deps.heartbeatMs ?? 15_000),
        };
        feeds.set(appId, f);
        feed = f;
        void tick(appId, f); // the first update now, not a second later
      }
      feed.clients.set(res, key);
      res.on('close', () => detach(appId, res));
    },
    clients: () => [...feeds.values()].reduce((n, f) => n + f.clients.size, 0),
    async stop() {
      stopped = true;
      for (const [appId, feed] of [...feeds]) {
        for (const res of [...feed.clients.keys()]) {
          detach(appId, res);
          res.end();
        }
      }
    },
  };
}
