/**
 * Metric labels whose values come from tenants (an ad channel, an app id) are bounded: the
 * `TOP_N_LABEL_VALUES` values of greatest weight keep their own series and the rest are
 * summed under `other`, so a tenant sending a million channel names adds one series, not a
 * million, to every scrape. A value literally named `other` shares that series.
 */
import { Counter, type Registry } from 'prom-client';

export const OTHER_LABEL = 'other';
/** Values of a tenant-derived label shown by name. */
export const TOP_N_LABEL_VALUES = 20;
/** Distinct values whose counts are kept to choose the top N; later new values go to `other` directly. */
export const MAX_TRACKED_LABEL_VALUES = 1000;

/** The n keys of greatest weight; ties in byte order, so the choice is stable between scrapes. */
export function topKeys(weights: ReadonlyMap<string, number>, n: number): Set<string> {
  const sorted = [...weights].sort(([a, wa], [b, wb]) => wb - wa || (a < b ? -1 : a > b ? 1 : 0));
  return new Set(sorted.slice(0, n).map(([k]) => k));
}

export interface TopNCounter<L extends string> {
  inc(labels: Record<L, string>, n?: number): void;
}

/**
 * A counter with one tenant-derived label (`bounded`): at each scrape, the top N of its values
 * by count so far keep their series, the others are summed under `other`. A value leaving the
 * top N moves its count to `other` (its own series ends), so `other` may step up by it.
 */
export function createTopNCounter<L extends string>(o: {
  name: string;
  help: string;
  labelNames: readonly L[];
  bounded: L;
  registers: Registry[];
  topN?: number;
  maxTracked?: number;
}): TopNCounter<L> {
  const topN = o.topN ?? TOP_N_LABEL_VALUES;
  const maxTracked = o.maxTracked ?? MAX_TRACKED_LABEL_VALUES;
  const weights = new Map<string, number>();
  const series = new Map<string, { labels: Record<L, string>; n: number }>();
  const counter: Counter<L> = new Counter({
    name: o.name,
    help: o.help,
    labelNames: o.labelNames,
    registers: o.registers,
    collect: () => {
      counter.reset();
      const top = topKeys(weights, topN);
      for (const { labels, n } of series.values()) {
        const value = labels[o.bounded];
        counter.inc({ ...labels, [o.bounded]: top.has(value) ? value : OTHER_LABEL }, n);
      }
    },
  });
  return {
    inc(labels, n = 1) {
      const tracked = weights.has(labels[o.bounded]) || weights.size < maxTracked;
      const l = tracked ? labels : { ...labels, [o.bounded]: OTHER_LABEL };
      const v = l[o.bounded];
      weights.set(v, (weights.get(v) ?? 0) + n);
      const key = JSON.stringify(o.labelNames.map((k) => l[k]));
      const s = series.get(key);
      if (s) s.n += n;
      else series.set(key, { labels: l, n });
    },
  };
}
