/**
 * Demo traffic for `weir start --demo`: realistic generated events (clicks and installs,
 * organic installs, reinstalls, fraud, errors, purchases, duplicates, late events) sent to the
 * collector over HTTP, each when its simulated send time comes, so the live counters and the
 * charts move in real time.
 *
 * Journeys are compressed in time (TIME_SCALE): a simulated hour per real minute, so a
 * device's click, install, sessions, purchases and reinstall play out within the demo rather
 * than days later. Compression never moves a gap across the 10 s click-injection threshold,
 * so installs are attributed, organic or rejected as they would be in real time. One
 * generator covers an epoch of real time; the next epoch brings new devices.
 */
import type { Logger } from '../infra/logger';
import { generateEvents, type GeneratedEvent } from '../ingest/load-generator/generate-events';
import { sendEvents, type SendItem } from '../ingest/load-generator/send-events';

const TIME_SCALE = 1 / 60;
const EPOCH_MS = 2 * 3_600_000;
/** Longest single wait, so that stop() is noticed promptly. */
const MAX_WAIT_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The generated events, each yielded once its simulated send time has come. */
async function* paced(events: Iterable<GeneratedEvent>, stopped: () => boolean): AsyncGenerator<SendItem> {
  for (const g of events) {
    for (let wait = g.sendAtMs - Date.now(); wait > 0; wait = g.sendAtMs - Date.now()) {
      if (stopped()) return;
      await sleep(Math.min(wait, MAX_WAIT_MS));
    }
    if (stopped()) return;
    yield { event: g.event, sendAtMs: g.sendAtMs };
  }
}

export function startDemoTraffic(o: { url: string; appId: string; writeKey: string; rate: number; log: Logger }): { stop(): Promise<void> } {
  const log = o.log.child({ component: 'demo-traffic' });
  let stopped = false;
  let epoch = 0;
  const loop = (async () => {
    while (!stopped) {
      const now = Date.now();
      const events = generateEvents({
        seed: now % 2_147_483_647,
        apps: [o.appId],
        startMs: now,
        endMs: now + EPOCH_MS,
        events: Math.round((o.rate * EPOCH_MS) / 1000),
        timeScale: TIME_SCALE,
        edgeCases: epoch++ === 0,
      });
      try {
        const r = await sendEvents(paced(events, () => stopped), {
          url: o.url,
          keys: { [o.appId]: o.writeKey },
          // A cap well above the paced rate: the pacing sets the rate, this only bounds bursts.
          rate: o.rate * 4,
          concurrency: 2,
          // About four requests a second: a batch is sent once full.
          batchSize: Math.max(1, Math.min(50, Math.round(o.rate / 4))),
        });
        log.debug({ accepted: r.accepted, rejected: r.rejected.length }, 'demo epoch sent');
      } catch (err) {
        log.warn({ err }, 'demo traffic failed; retrying in 5 s');
        await sleep(5000);
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
