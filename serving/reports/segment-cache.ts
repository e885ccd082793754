/**
 * Rendered rows of report segments (merge-sources.ts `reportSegments`), kept in memory up to a
 * byte budget (`REPORT_CACHE_MB`) and reused while the views of the segment's days stay as
 * they were, as Druid's historicals cache per-segment results of immutable segments. The key
 * holds everything the rows depend on: the query's shape, the segment's range and the version
 * of each of its days: for a covered day the batch run that wrote it (batch views change only
 * when a run replaces the day), for another day its speed parts (speed-versions.ts). So a
 * warm 30-day report recomputes only the days whose views changed since: under live traffic
 * the current day, at rest none.
 */
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReportSegment } from './merge-sources';
import type { ReportQuery } from './parse-report-query';

export interface SegmentRows {
  /**
   * The segment's rows as UTF-8 JSON objects joined by ',' (empty when it has none): kept
   * encoded, since encoding a 20 MB report's text again on every response cost more than
   * reading its uncached days.
   */
  json: Buffer;
  rows: number;
}

export interface SegmentCache {
  get(key: string): SegmentRows | undefined;
  set(key: string, rows: SegmentRows): void;
}

/** A cache of at most `maxBytes` of row text (0: none), counted on `registry`. */
export function createSegmentCache(maxBytes: number, registry?: Registry): SegmentCache {
  const registers = registry ? [registry] : [];
  const lookups = new Counter({ name: 'weir_report_cache_lookups_total', help: 'Report segment cache lookups', labelNames: ['result'], registers });
  const bytes = new Gauge({ name: 'weir_report_cache_bytes', help: 'Bytes of report rows held by the segment cache', registers });
  if (maxBytes <= 0) {
    return { get: () => (lookups.inc({ result: 'miss' }), undefined), set: () => undefined };
  }
  const lru = new LRUCache<string, SegmentRows>({
    maxSize: maxBytes,
    sizeCalculation: (v, k) => entryBytes(v, k),
  });
  return {
    get(key) {
      const hit = lru.get(key);
      lookups.inc({ result: hit ? 'hit' : 'miss' });
      return hit;
    },
    set(key, rows) {
      // Larger than the whole budget: not kept (lru-cache would refuse it anyway).
      if (entryBytes(rows, key) > maxBytes) return;
      lru.set(key, rows);
      bytes.set(lru.calculatedSize);
    },
  };
}

/** Memory of an entry: its rows, its key (two bytes per UTF-16 code unit) and some overhead. */
const entryBytes = (v: SegmentRows, key: string) => v.json.length + 2 * key.length + 64;

/** The cache key of segment `s` of `q`, given the version of each day's views (`dayVersion`). */
export function segmentKey(q: ReportQuery, s: ReportSegment, dayVersion: (day: string) => string): string {
  const filters = Object.entries(q.filters)
    .map(([dim, values]) => [dim, [...values].sort()] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([q.appId, q.granularity, q.tzMin, s.loMs, s.hiMs, q.metrics, q.groupBy, filters, s.days.map(dayVersion)]);
}
