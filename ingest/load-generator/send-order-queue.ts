/**
 * Min-heap of pending events by simulated send time. Journeys are generated device by device
 * in order of their first event, but a device's events are sent over hours or days (and late
 * events even later), so they wait here until every device that could send earlier has been
 * generated. Ties break on a sequence number, which keeps the order deterministic.
 *
 * Keys live in their own arrays (unboxed doubles) rather than on the items: with 10^5 pending
 * events, comparisons that do not chase pointers make the heap several times faster.
 */
export class SendOrderQueue<T> {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Send time of the next item (Infinity when empty). */
  peekTime(): number {
    return this.items.length > 0 ? this.times[0] : Number.POSITIVE_INFINITY;
  }

  push(time: number, seq: number, item: T): void {
    const { times, seqs, items } = this;
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

  pop(): T | undefined {
    const { times, seqs, items } = this;
    const n = items.length - 1;
    if (n < 0) return undefined;
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
