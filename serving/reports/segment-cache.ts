/**
 * Rendered rows of batch-only report segments (merge-sources.ts `reportSegments`), kept in
 * memory up to a byte budget (`REPORT_CACHE_MB`) and reused until a batch run replaces one of
 * the segment's days: batch views change only then, so a 30-day report re-reads only the days
 * the speed layer still answers, as Druid's historicals cache per-segment results of immutable
 * segments. The key holds everything the rows depend on: the query's shape, the segment's
 * range and the coverage version of each of its days.
 */
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Coverage } from '../../infra/clickhouse/coverage';
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

/** The cache key of a batch segment of `q`; undefined when part of it comes from speed views. */
export function segmentKey(q: ReportQuery, s: ReportSegment, coverage: Pick<Coverage, 'versions'>): string | undefined {
  if (!s.batch) return undefined;
  const filters = Object.entries(q.filters)
    .map(([dim, values]) => [dim, [...values].sort()] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([q.appId, q.granularity, q.tzMin, s.loMs, s.hiMs, q.metrics, q.groupBy, filters, s.days.map((d) => coverage.versions.get(d))]);
}
