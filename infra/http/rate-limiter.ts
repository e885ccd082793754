/** Token buckets per key: a second's worth of burst, refilled continuously. */
export interface RateDecision {
  ok: boolean;
  retryAfterS: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string, cost = 1): RateDecision {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.perSecond, at: t };
    b.tokens = Math.min(this.perSecond, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.buckets.set(key, b);
    if (this.buckets.size > 100_000) this.buckets.clear(); // bounded memory under key floods
    // A request costing more than a second's worth passes on a full bucket and leaves it in
    // debt, so a low limit can never lock a client out for good.
    if (cost <= b.tokens || b.tokens >= this.perSecond) {
      b.tokens -= cost;
      return { ok: true, retryAfterS: 0 };
    }
    const deficit = Math.min(cost, this.perSecond) - b.tokens;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil(deficit / this.perSecond)) };
  }
}
