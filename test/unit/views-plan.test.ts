/** Which view inserts a flush group needs, planned from its rows (realtime-views/views-writer.ts). */
import { planOfRows, type PlannedRow } from '../../speed-layer/realtime-views/views-writer';

const row = (ts: string, type = 'event', ip = '', ua = ''): PlannedRow => ({ ts, type, ip, ua });

describe('planOfRows', () => {
  it('plans one entry per UTC event date, sorted, whatever the order of the rows', () => {
    const plan = planOfRows([
      row('2026-11-24 23:59:59.999'),
      row('2026-11-25 00:00:00.000', 'error'),
      row('2026-11-24 10:00:00.000', 'click', '1.2.3.4', 'UA'),
      row('2026-11-23 08:00:00.000'),
      row('2026-11-25 12:00:00.000'),
    ]);
    expect(plan).toEqual([
      { day: '2026-11-23', clicks: false, errors: false },
      { day: '2026-11-24', clicks: true, errors: false },
      { day: '2026-11-25', clicks: false, errors: true },
    ]);
  });

  it('needs the clicks insert only for a click with both ip and ua', () => {
    const plan = planOfRows([row('2026-11-24 10:00:00.000', 'click', '1.2.3.4', ''), row('2026-11-24 11:00:00.000', 'click', '', 'UA')]);
    expect(plan).toEqual([{ day: '2026-11-24', clicks: false, errors: false }]);
  });

  it('plans nothing for no rows', () => {
    expect(planOfRows([])).toEqual([]);
  });
});
