/**
 * The most recent `(app_id, event_id)` pairs a partition has seen, to recognise a client's
 * retries (DESIGN.md: duplicates are dropped by app and event id). Bounded: past `capacity`
 * pairs the oldest is forgotten, into `forgotten` when given (forgotten-ids.ts), which then
 * tells a pair seen before the window (counted again) from a new one.
 *
 * One set of event ids per app, and the order of arrival in a ring: the speed layer holds up to
 * `capacity` pairs per partition for the whole run, and keying them by one joined string made
 * and kept a new string per event (the event id strings from JSON.parse are kept either way).
 */
import type { ForgottenIds } from './forgotten-ids';

/** What `remember` found: a new pair, a copy within the window, or probably a copy of a pair the window forgot. */
export type Seen = 'new' | 'duplicate' | 'forgotten';

export class RecentIds {
  private readonly byApp = new Map<string, Set<string>>();
  private readonly ringApps: string[] = [];
  private readonly ringIds: string[] = [];
  /** Index of the oldest pair in the ring, once it is full. */
  private oldest = 0;

  constructor(
    private readonly capacity: number,
    private readonly forgotten?: ForgottenIds,
  ) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new Error(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.ringIds.length;
  }

  /** Remembers the pair as the newest, unless it is already held (it keeps its place). */
  remember(app: string, id: string): Seen {
    let ids = this.byApp.get(app);
    if (!ids) this.byApp.set(app, (ids = new Set()));
    if (ids.has(id)) return 'duplicate';
    ids.add(id);
    const seen = this.forgotten?.probablyHas(app, id) ? 'forgotten' : 'new';
    if (this.ringIds.length < this.capacity) {
      this.ringApps.push(app);
      this.ringIds.push(id);
      return seen;
    }
    const i = this.oldest;
    const oldApp = this.ringApps[i];
    const old = this.byApp.get(oldApp) as Set<string>;
    old.delete(this.ringIds[i]);
    if (old.size === 0) this.byApp.delete(oldApp);
    this.forgotten?.add(oldApp, this.ringIds[i]);
    this.ringApps[i] = app;
    this.ringIds[i] = id;
    this.oldest = (i + 1) % this.capacity;
    return seen;
  }
}
