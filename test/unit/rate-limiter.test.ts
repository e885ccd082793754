/**
 * Token buckets per key with an injected clock: a second's worth of burst, continuous
 * refill, per-key isolation, honest Retry-After, and oversized requests that pass on a full
 * bucket and leave it in debt.
 */
import fc from 'fast-check';
import { RateLimiter } from '../../infra/http/rate-limiter';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('RateLimiter', () => {
  it('allows a burst of one second’s worth, then refuses with Retry-After ≥ 1 s', () => {
    const c = clock();
    const rl = new RateLimiter(5, c.now);
    for (let i = 0; i < 5; i++) expect(rl.take('k')).toEqual({ ok: true, retryAfterS: 0 });
    expect(rl.take('k')).toEqual({ ok: false, retryAfterS: 1 });
    expect(rl.take('k').ok).toBe(false); // refused requests cost nothing, but nothing refilled either
  });

  it('refills continuously: 1/rate seconds per token', () => {
    const c = clock();
    const rl = new RateLimiter(10, c.now);
    for (let i = 0; i < 10; i++) rl.take('k');
    c.advance(50); // half a token
    expect(rl.take('k').ok).toBe(false);
    c.advance(50); // one token in all
    expect(rl.take('k').ok).toBe(true);
    expect(rl.take('k').ok).toBe(false);
    c.advance(300);
    expect([rl.take('k').ok, rl.take('k').ok, rl.take('k').ok, rl.take('k').ok]).toEqual([true, true, true, false]);
  });

  it('never stores more than one second’s worth, however long the key was idle', () => {
    const c = clock();
    const rl = new RateLimiter(3, c.now);
    rl.take('k');
    c.advance(3_600_000);
    expect([rl.take('k'), rl.take('k'), rl.take('k'), rl.take('k')].map((d) => d.ok)).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per key', () => {
    const c = clock();
    const rl = new RateLimiter(2, c.now);
    expect([rl.take('a').ok, rl.take('a').ok, rl.take('a').ok]).toEqual([true, true, false]);
    expect([rl.take('b').ok, rl.take('b').ok, rl.take('b').ok]).toEqual([true, true, false]);
    c.advance(500);
    expect(rl.take('a').ok).toBe(true);
    expect(rl.take('c').ok).toBe(true);
  });

  it('charges the cost (events per request)', () => {
    const c = clock();
    const rl = new RateLimiter(100, c.now);
    expect(rl.take('k', 60).ok).toBe(true);
    expect(rl.take('k', 40).ok).toBe(true);
    expect(rl.take('k', 1)).toEqual({ ok: false, retryAfterS: 1 });
    c.advance(250); // 25 tokens
    expect(rl.take('k', 30).ok).toBe(false);
    expect(rl.take('k', 25).ok).toBe(true);
  });

  it('a refused request takes nothing from the bucket', () => {
    const c = clock();
    const rl = new RateLimiter(10, c.now);
    rl.take('k', 8);
    expect(rl.take('k', 5).ok).toBe(false);
    expect(rl.take('k', 2).ok).toBe(true);
  });

  it('lets a request costing more than a second’s worth pass on a full bucket, leaving debt', () => {
    const c = clock();
    const rl = new RateLimiter(10, c.now);
    expect(rl.take('k', 25)).toEqual({ ok: true, retryAfterS: 0 }); // 10 − 25 = −15 tokens
    // One more token needs 16: 1.6 s → Retry-After 2.
    expect(rl.take('k')).toEqual({ ok: false, retryAfterS: 2 });
    c.advance(1500);
    expect(rl.take('k').ok).toBe(false);
    c.advance(100);
    expect(rl.take('k').ok).toBe(true);
  });

  it('the oversized request is refused on a partly empty bucket, and passes again once full', () => {
    const c = clock();
    const rl = new RateLimiter(10, c.now);
    rl.take('k', 1);
    // Needs a full bucket (10) and has 9: Retry-After 1.
    expect(rl.take('k', 25)).toEqual({ ok: false, retryAfterS: 1 });
    c.advance(100);
    expect(rl.take('k', 25).ok).toBe(true);
  });

  it('a low limit never locks a client out for good', () => {
    const c = clock();
    const rl = new RateLimiter(1, c.now);
    for (let i = 0; i < 5; i++) {
      const d = rl.take('k', 1000);
      expect(d.ok).toBe(true);
      const refused = rl.take('k', 1000);
      expect(refused.ok).toBe(false);
      c.advance(refused.retryAfterS * 1000);
    }
  });

  it('Retry-After is honest: waiting that long lets the same request through', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 40 }),
        (rate, steps) => {
          const c = clock();
          const rl = new RateLimiter(rate, c.now);
          for (const [cost, gap] of steps) {
            c.advance(gap);
            const d = rl.take('k', cost);
            if (d.ok) {
              expect(d.retryAfterS).toBe(0);
              continue;
            }
            expect(d.retryAfterS).toBeGreaterThanOrEqual(1);
            expect(Number.isInteger(d.retryAfterS)).toBe(true);
            c.advance(d.retryAfterS * 1000);
            expect(rl.take('k', cost).ok).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('Retry-After is not longer than needed: a second earlier the request would still be refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 500 }), (rate, first, second) => {
        const c = clock();
        const rl = new RateLimiter(rate, c.now);
        rl.take('k', first);
        const d = rl.take('k', second);
        if (d.ok || d.retryAfterS === 1) return;
        c.advance((d.retryAfterS - 1) * 1000);
        expect(rl.take('k', second).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('uses Date.now by default', () => {
    const rl = new RateLimiter(1);
    expect(rl.take('k').ok).toBe(true);
    expect(rl.take('k')).toEqual({ ok: false, retryAfterS: 1 });
  });
});
