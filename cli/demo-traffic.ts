/**
 * Demo traffic for `weir start --demo`: realistic generated events (clicks and installs,
 * fraud, errors, purchases, duplicates, late events) sent to the collector over HTTP, in
 * rounds of 30 s of traffic whose event times span the round, so the live counters and the
 * hourly chart move.
 */
import type { Logger } from '../infra/logger';
import { generateEvents } from '../ingest/load-generator/generate-events';
import { sendEvents } from '../ingest/load-generator/send-events';

const ROUND_S = 30;

export function startDemoTraffic(o: { url: string; appId: string; writeKey: string; rate: number; log: Logger }): { stop(): Promise<void> } {
  const log = o.log.child({ component: 'demo-traffic' });
  let stopped = false;
  let round = 0;
  const loop = (async () => {
    while (!stopped) {
      const now = Date.now();
      const events = generateEvents({
        seed: now % 2_147_483_647,
        apps: [o.appId],
        // Event times span the round about to be sent, so live counters track the send rate.
        startMs: now,
        endMs: now + ROUND_S * 1000,
        events: o.rate * ROUND_S,
        edgeCases: round++ === 0,
      });
      try {
        const r = await sendEvents(
          (function* () {
            for (const g of events) {
              if (stopped) return;
              yield g.event;
            }
          })(),
          { url: o.url, keys: { [o.appId]: o.writeKey }, rate: o.rate, concurrency: 2, batchSize: 50 },
        );
        log.debug({ accepted: r.accepted, rejected: r.rejected.length }, 'demo round sent');
      } catch (err) {
        log.warn({ err }, 'demo traffic round failed');
        await new Promise((r) => setTimeout(r, 5000));
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
