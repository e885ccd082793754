/** Tenant-derived metric labels are bounded to the top N values plus `other`. */
import { Registry } from 'prom-client';
import { boundedDrift } from '../../batch-layer/batch-metrics';
import type { DriftRow } from '../../batch-layer/run-types';
import { createTopNCounter, topKeys } from '../../infra/top-n-labels';

describe('topKeys', () => {
  it('keeps the n keys of greatest weight, ties in byte order', () => {
    expect(topKeys(new Map([['b', 2], ['a', 2], ['c', 5], ['d', 1]]), 2)).toEqual(new Set(['c', 'a']));
  });
});

describe('createTopNCounter', () => {
  const scrape = async (registry: Registry) => (await registry.getMetricsAsJSON())[0].values.map((v) => [v.labels, v.value]);

  it('shows the top N values of the bounded label by count and sums the rest under other', async () => {
    const registry = new Registry();
    const c = createTopNCounter({ name: 'x_total', help: 'x', labelNames: ['channel', 'reason'], bounded: 'channel', topN: 2, registers: [registry] });
    c.inc({ channel: 'big', reason: 'r1' }, 10);
    c.inc({ channel: 'mid', reason: 'r1' }, 5);
    c.inc({ channel: 'small', reason: 'r1' }, 1);
    c.inc({ channel: 'tiny', reason: 'r2' }, 1);
    c.inc({ channel: 'tinier', reason: 'r2' });
    expect(await scrape(registry)).toEqual([
      [{ channel: 'big', reason: 'r1' }, 10],
      [{ channel: 'mid', reason: 'r1' }, 5],
      [{ channel: 'other', reason: 'r1' }, 1],
      [{ channel: 'other', reason: 'r2' }, 2],
    ]);
  });

  it('counts values beyond the tracked ones straight into other, so memory stays bounded', async () => {
    const registry = new Registry();
    const c = createTopNCounter({ name: 'y_total', help: 'y', labelNames: ['app_id'], bounded: 'app_id', topN: 5, maxTracked: 2, registers: [registry] });
    for (let i = 0; i < 1000; i++) c.inc({ app_id: `app-${i}` }, i === 999 ? 100 : 1);
    expect(await scrape(registry)).toEqual([
      [{ app_id: 'app-0' }, 1],
      [{ app_id: 'app-1' }, 1],
      [{ app_id: 'other' }, 1097],
    ]);
  });
});

describe('boundedDrift', () => {
  const row = (app_id: string, metric: string, speed: number, batch: number): DriftRow => ({
    day: '2026-11-23',
    app_id,
    metric,
    speed,
    batch,
    abs_diff: speed - batch,
    rel_diff: batch === 0 ? (speed === 0 ? 0 : null) : (speed - batch) / batch,
  });

  it('keeps the apps of greatest drift and sums the rest per day and metric under other', () => {
    const rows = [row('a', 'events', 150, 100), row('b', 'events', 99, 100), row('c', 'events', 103, 100), row('c', 'uv', 10, 10)];
    expect(boundedDrift(rows, 1)).toEqual([
      { day: '2026-11-23', app_id: 'a', metric: 'events', speed: 150, batch: 100, abs_diff: 50, rel_diff: 0.5 },
      { day: '2026-11-23', app_id: 'other', metric: 'events', abs_diff: 2, rel_diff: 0.01 },
      { day: '2026-11-23', app_id: 'other', metric: 'uv', abs_diff: 0, rel_diff: 0 },
    ]);
  });

  it('leaves the other row without a difference when every speed side expired', () => {
    const expired: DriftRow = { day: '2026-11-20', app_id: 'z', metric: 'events', speed: 'expired', batch: 5, abs_diff: null, rel_diff: null };
    expect(boundedDrift([expired], 0)).toEqual([{ day: '2026-11-20', app_id: 'other', metric: 'events', abs_diff: null, rel_diff: null }]);
  });
});
