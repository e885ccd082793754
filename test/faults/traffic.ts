/**
 * Generated traffic through a collector's `POST /v1/events`, paced, with every event id
 * unique, and no retries: an event counts as acknowledged only when a `202` listed it as
 * accepted. A request that got no answer (the collector died, a timeout) or a refusal (`503`
 * while Kafka is down) acknowledges nothing, so nothing of it is expected; whatever of it
 * still reached Kafka is counted from Kafka itself.
 */
import { generateEventArray } from '../../ingest/load-generator/generate-events';
import type { WireEvent } from '../../schemas/event';

export interface TrafficOptions {
  /** The collector's base URL; a function, since a restarted process may listen elsewhere. */
  url: () => string;
  writeKey: string;
  appId: string;
  seed: number;
  /** Event-time span of the generated journeys. */
  startMs: number;
  endMs: number;
  /** Events per second (default 150). */
  rate?: number;
  /** Events per request (default 50). */
  batchSize?: number;
  /** Requests in flight (default 3). */
  concurrency?: number;
  /** Generated events available; sending stops when they run out (default 20 000). */
  capacity?: number;
}

export interface Traffic {
  /** Event ids a `202` accepted. */
  readonly acked: Set<string>;
  /** Responses by status (0: no answer). */
  readonly statuses: Record<number, number>;
  /** Requests sent and not answered yet. */
  inFlight(): number;
  /** Events handed to the collector so far (acknowledged or not). */
  sent(): number;
  /** Holds new requests and waits for those in flight; `resume` sends again. */
  pause(): Promise<void>;
  resume(): void;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<void>;
}

interface Answer {
  accepted: number;
  rejected: { index: number }[];
}

export function startTraffic(o: TrafficOptions): Traffic {
  const events = uniqueEvents(
    generateEventArray({
      seed: o.seed,
      apps: [o.appId],
      startMs: o.startMs,
      endMs: o.endMs,
      events: o.capacity ?? 20_000,
      // Every event lies in the generated span, so the batch run of its last day covers them all:
      // no late copies, clock skew (sent_at would move ts to the receive time), re-sent copies or
      // hand-placed edge cases (some lie outside the span on purpose).
      lateFraction: 0,
      skewFraction: 0,
      duplicateFraction: 0,
      invalidFraction: 0,
      edgeCases: false,
    }).map((g) => g.event),
  );
  const rate = o.rate ?? 150;
  const batchSize = o.batchSize ?? 50;
  const acked = new Set<string>();
  const statuses: Record<number, number> = {};
  let started = Date.now();
  let pausedAt = 0;
  let next = 0;
  let inFlight = 0;
  let stopped = false;
  let paused = false;

  const post = async (batch: WireEvent[]): Promise<number> => {
    inFlight++;
    try {
      const res = await fetch(`${o.url()}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${o.writeKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: batch }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      if (res.status === 202) {
        const answer = JSON.parse(text) as Answer;
        const refused = new Set(answer.rejected.map((r) => r.index));
        batch.forEach((e, i) => refused.has(i) || acked.add(e.event_id));
      }
      return res.status;
    } catch {
      return 0;
    } finally {
      inFlight--;
    }
  };

  const loop = async () => {
    while (!stopped && next < events.length) {
      // Pacing: the n-th event leaves no earlier than n / rate seconds after the start.
      const due = started + (next / rate) * 1000;
      if (due > Date.now() || paused) {
        await new Promise((r) => setTimeout(r, paused ? 50 : Math.max(1, due - Date.now())));
        continue;
      }
      const batch = events.slice(next, next + batchSize);
      next += batch.length;
      const status = await post(batch);
      statuses[status] = (statuses[status] ?? 0) + 1;
      // Refused or unanswered: a pause, so a dead collector is not hammered in a tight loop.
      if (status !== 202) await new Promise((r) => setTimeout(r, 200));
    }
  };
  const loops = Array.from({ length: o.concurrency ?? 3 }, loop);

  return {
    acked,
    statuses,
    inFlight: () => inFlight,
    sent: () => next,
    pause: async () => {
      paused = true;
      pausedAt = Date.now();
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    },
    resume: () => {
      // The pause is no backlog: the rate goes on from where it was.
      started += Date.now() - pausedAt;
      paused = false;
    },
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** The generator's ids are random: a repeat is unlikely but would blur "counted twice". */
function uniqueEvents(events: WireEvent[]): WireEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => !seen.has(e.event_id) && seen.add(e.event_id));
}
