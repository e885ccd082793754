import { addDays, boundaryOf, catchUpRunDays, dayRange, dayStartMs, hasClosed, latestClosedDay, recomputeWindow } from '../../batch-layer/days';
import { normaliseCidrs } from '../../rules/cidrs';
import { driftRows } from '../../batch-layer/drift';
import { lagging } from '../../batch-layer/archive-catch-up';

describe('batch days', () => {
  it('accepts only real YYYY-MM-DD days', () => {
    expect(dayStartMs('2026-01-10')).toBe(Date.parse('2026-01-10T00:00:00Z'));
    for (const bad of ['2026-02-30', '2026-1-10', "2026-01-10' OR 1", '', '2026-01-10T00:00:00Z']) expect(dayStartMs(bad)).toBeUndefined();
  });

  it('recomputes day d and the k days before it', () => {
    expect(recomputeWindow('2026-03-01', 2)).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect(recomputeWindow('2026-03-01', 0)).toEqual(['2026-03-01']);
    expect(dayRange('2026-12-30', '2027-01-02')).toHaveLength(4);
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
  });

  it('treats a day as closed once it ended plus the grace period', () => {
    const end = Date.parse('2026-01-11T00:00:00Z');
    expect(hasClosed('2026-01-10', end + 15 * 60_000 - 1, 15)).toBe(false);
    expect(hasClosed('2026-01-10', end + 15 * 60_000, 15)).toBe(true);
    expect(latestClosedDay(end + 15 * 60_000, 15)).toBe('2026-01-10');
    expect(latestClosedDay(end + 15 * 60_000 - 1, 15)).toBe('2026-01-09');
  });

  it('puts the boundary at the end of the latest covered day', () => {
    expect(boundaryOf([])).toBeNull();
    expect(boundaryOf(['2026-01-09', '2026-01-10', '2026-01-08'])).toBe('2026-01-11T00:00:00Z');
  });

  it('catches up missed days in runs of k + 1 days, oldest first', () => {
    expect(catchUpRunDays(undefined, '2026-01-10', 2)).toEqual([]);
    expect(catchUpRunDays('2026-01-10', '2026-01-10', 2)).toEqual([]);
    expect(catchUpRunDays('2026-01-10', '2026-01-11', 2)).toEqual(['2026-01-11']);
    expect(catchUpRunDays('2026-01-10', '2026-01-15', 2)).toEqual(['2026-01-12', '2026-01-15']);
  });
});

describe('batch IP blocklist', () => {
  it('gives every range an explicit prefix and maps IPv4-mapped ranges to IPv4', () => {
    expect(normaliseCidrs(['10.0.0.0/8', '1.2.3.4', '2001:db8::/32', '::ffff:203.0.113.0/120'], 'test')).toEqual([
      '10.0.0.0/8',
      '1.2.3.4/32',
      '2001:db8::/32',
      '203.0.113.0/24',
    ]);
    expect(() => normaliseCidrs(['nope'], 'IP_BLOCKLIST')).toThrow(/IP_BLOCKLIST: invalid CIDR "nope"/);
  });
});

describe('batch drift', () => {
  it('reports speed minus batch, relative to batch, per day, app and metric', () => {
    const rows = driftRows(new Map([['2026-01-10\0a', { events: 105, uv: 10 }]]), new Map([['2026-01-10\0a', { events: 100, uv: 0 }]]));
    expect(rows.find((r) => r.metric === 'events')).toEqual({ day: '2026-01-10', app_id: 'a', metric: 'events', speed: 105, batch: 100, abs_diff: 5, rel_diff: 0.05 });
    expect(rows.find((r) => r.metric === 'uv')).toMatchObject({ abs_diff: 10, rel_diff: null });
    expect(rows.find((r) => r.metric === 'clicks')).toMatchObject({ speed: 0, batch: 0, rel_diff: 0 });
  });

  it('shows revenue in currency units, as reports do (totals are micro-units)', () => {
    const rows = driftRows(new Map([['2026-01-10\0a', { revenue: 1_234_567 }]]), new Map([['2026-01-10\0a', { revenue: 1_000_000 }]]));
    expect(rows.find((r) => r.metric === 'revenue')).toEqual({ day: '2026-01-10', app_id: 'a', metric: 'revenue', speed: 1.234567, batch: 1, abs_diff: 0.234567, rel_diff: 0.234567 });
  });

  it('names the partitions the archive has not reached yet', () => {
    expect(lagging({ '0': 10, '1': 5 }, new Map([[0, 10], [1, 3]]))).toEqual([[1, 3, 5]]);
  });
});
