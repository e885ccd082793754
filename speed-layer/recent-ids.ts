/**
 * The most recent `(app_id, event_id)` pairs a partition has seen, to recognise a client's
 * retries (DESIGN.md: duplicates are dropped by app and event id). Bounded: past `capacity`
 * pairs the oldest is forgotten.
 *
 * One set of event ids per app, and the order of arrival in a ring: the speed layer holds up to
 * `capacity` pairs per partition for the whole run, and keying them by one joined string made
 * and kept a new string per event (the event id strings from JSON.parse are kept either way).
 */
export class RecentIds {
  private readonly byApp = new Map<string, Set<string>>();
  private readonly ringApps: string[] = [];
  private readonly ringIds: string[] = [];
  /** Index of the oldest pair in the ring, once it is full. */
  private oldest = 0;

  constructor(private readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new Error(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.ringIds.length;
  }

  /** Remembers the pair as the newest; false when it is already held (it keeps its place). */
  remember(app: string, id: string): boolean {
    let ids = this.byApp.get(app);
    if (!ids) this.byApp.set(app, (ids = new Set()));
    if (ids.has(id)) return false;
    ids.add(id);
    if (this.ringIds.length < this.capacity) {
      this.ringApps.push(app);
      this.ringIds.push(id);
      return true;
    }
    const i = this.oldest;
    const oldApp = this.ringApps[i];
    const old = this.byApp.get(oldApp) as Set<string>;
    old.delete(this.ringIds[i]);
    if (old.size === 0) this.byApp.delete(oldApp);
    this.ringApps[i] = app;
    this.ringIds[i] = id;
    this.oldest = (i + 1) % this.capacity;
    return true;
  }
}
