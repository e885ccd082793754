/**
 * The `(app_id, event_id)` pairs the exact window of recent ids (recent-ids.ts) forgot, held
 * approximately, so that a copy arriving after its id left the window, which the speed views
 * count again, is counted in a metric (DESIGN.md section 5: duplicates may inflate speed
 * counts only by a number reported in a metric).
 *
 * Bloom filters in two generations of `perGeneration` pairs each: when the current one is
 * full the older is dropped, so the filter holds the last `perGeneration` to
 * 2 × `perGeneration` pairs forgotten (bounded: two bit arrays, never more, whatever the
 * history). A pair the filters never held is reported absent; a pair they did not hold is
 * reported present with probability at most `falsePositiveRate` per generation, which makes
 * the count an estimate that errs high by at most 2 × that rate of the events tested.
 */
import { BloomFilter } from 'bloomfilter';

export class ForgottenIds {
  private readonly bits: number;
  private readonly hashes: number;
  private current: BloomFilter;
  private previous: BloomFilter | undefined;
  private inCurrent = 0;

  constructor(
    private readonly perGeneration: number,
    falsePositiveRate: number,
  ) {
    if (!(Number.isInteger(perGeneration) && perGeneration > 0)) throw new Error(`perGeneration must be a positive integer, got ${perGeneration}`);
    if (!(falsePositiveRate > 0 && falsePositiveRate < 1)) throw new Error(`falsePositiveRate must lie in (0, 1), got ${falsePositiveRate}`);
    // The textbook optimum: m = -n ln p / (ln 2)², k = (m / n) ln 2.
    this.bits = Math.ceil((-perGeneration * Math.log(falsePositiveRate)) / Math.LN2 ** 2);
    this.hashes = Math.max(1, Math.round((this.bits / perGeneration) * Math.LN2));
    this.current = new BloomFilter(this.bits, this.hashes);
  }

  /** Bytes of the bit arrays at most (both generations). */
  get maxBytes(): number {
    return 2 * Math.ceil(this.bits / 32) * 4;
  }

  add(app: string, id: string): void {
    if (this.inCurrent === this.perGeneration) {
      this.previous = this.current;
      this.current = new BloomFilter(this.bits, this.hashes);
      this.inCurrent = 0;
    }
    this.current.add(pairKey(app, id));
    this.inCurrent++;
  }

  probablyHas(app: string, id: string): boolean {
    // Nothing forgotten yet (a run's first 500 000 ids, the refill at restore): no hashing.
    if (this.inCurrent === 0 && !this.previous) return false;
    const key = pairKey(app, id);
    return this.current.test(key) || (this.previous?.test(key) ?? false);
  }
}

/** NUL never occurs in an app id (DESIGN.md: `^[a-z0-9][a-z0-9_-]{0,63}$`), so the key is unambiguous. */
const pairKey = (app: string, id: string) => `${app}\u0000${id}`;
