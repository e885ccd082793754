/**
 * Min-heap of pending events by simulated send time. Journeys are generated device by device
 * in order of their first event, but a device's events are sent over hours or days (late
 * events even later), so they wait here until every device that could send earlier has been
 * generated. Ties break on the creation sequence number, which keeps the order deterministic.
 *
 * Keys live in their own arrays (unboxed doubles) rather than being read from the items:
 * comparisons that do not chase pointers make the heap several times faster with 10^5 items
 * pending. (A calendar queue was tried: its many small bucket arrays cost more in GC than the
 * heap's log n.)
 */
export interface Queued {
  sendAtMs: number;
  seq: number;
}

export class SendOrderQueue<T extends Queued> {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const { times, seqs, items } = this;
    const time = item.sendAtMs;
    const seq = item.seq;
    let i = items.length;
    times.push(time);
    seqs.push(seq);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p] < time || (times[p] === time && seqs[p] < seq)) break;
      times[i] = times[p];
      seqs[i] = seqs[p];
      items[i] = items[p];
      i = p;
    }
    times[i] = time;
    seqs[i] = seq;
    items[i] = item;
  }

  /** The next item in send order if it is due at or before `limit` (Infinity: any). */
  popDue(limit: number): T | undefined {
    const { times, seqs, items } = this;
    const n = items.length - 1;
    if (n < 0 || times[0] > limit) return undefined;
    const top = items[0];
    const t = times[n];
    const s = seqs[n];
    const it = items[n];
    times.pop();
    seqs.pop();
    items.pop();
    if (n > 0) {
      let i = 0;
      while (true) {
        let c = 2 * i + 1;
        if (c >= n) break;
        const r = c + 1;
        if (r < n && (times[r] < times[c] || (times[r] === times[c] && seqs[r] < seqs[c]))) c = r;
        if (t < times[c] || (t === times[c] && s < seqs[c])) break;
        times[i] = times[c];
        seqs[i] = seqs[c];
        items[i] = items[c];
        i = c;
      }
      times[i] = t;
      seqs[i] = s;
      items[i] = it;
    }
    return top;
  }
}
