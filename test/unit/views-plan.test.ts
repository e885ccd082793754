/** Which view inserts a flush group needs, noted from its rows as they are decided (realtime-views/views-writer.ts). */
import { DayPlans } from '../../speed-layer/realtime-views/views-writer';

const at = (iso: string) => Date.parse(`${iso}Z`);

function planOf(rows: [ts: number, type?: string, ip?: string, ua?: string][]): DayPlans {
  const plans = new DayPlans();
  for (const [ts, type = 'event', ip = '', ua = ''] of rows) plans.note(ts, type, ip, ua);
  return plans;
}

describe('DayPlans', () => {
  it('plans one entry per UTC event date, sorted, whatever the order of the rows', () => {
    const plan = planOf([
      [at('2026-11-24T23:59:59.999')],
      [at('2026-11-25T00:00:00.000'), 'error'],
      [at('2026-11-24T10:00:00.000'), 'click', '1.2.3.4', 'UA'],
      [at('2026-11-23T08:00:00.000')],
      [at('2026-11-25T12:00:00.000')],
    ]).list();
    expect(plan).toEqual([
      { day: '2026-11-23', clicks: false, errors: false },
      { day: '2026-11-24', clicks: true, errors: false },
      { day: '2026-11-25', clicks: false, errors: true },
    ]);
  });

  it('dates a fractional time as events_rt stores it, truncated to the millisecond', () => {
    expect(planOf([[at('2026-11-24T23:59:59.999') + 0.9]]).list()).toEqual([{ day: '2026-11-24', clicks: false, errors: false }]);
  });

  it('needs the clicks insert only for a click with both ip and ua', () => {
    const plan = planOf([[at('2026-11-24T10:00:00.000'), 'click', '1.2.3.4', ''], [at('2026-11-24T11:00:00.000'), 'click', '', 'UA']]).list();
    expect(plan).toEqual([{ day: '2026-11-24', clicks: false, errors: false }]);
  });

  it('merges the plans of the batches of a group', () => {
    const a = planOf([[at('2026-11-24T10:00:00.000'), 'error']]);
    a.merge(planOf([[at('2026-11-24T11:00:00.000'), 'click', '1.2.3.4', 'UA'], [at('2026-11-25T01:00:00.000')]]));
    expect(a.list()).toEqual([
      { day: '2026-11-24', clicks: true, errors: true },
      { day: '2026-11-25', clicks: false, errors: false },
    ]);
  });

  it('plans nothing for no rows', () => {
    expect(new DayPlans().list()).toEqual([]);
  });
});
