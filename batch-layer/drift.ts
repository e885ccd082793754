/**
 * What a run measured against the speed layer (DESIGN.md section 5, "Drift"): per day of the
 * run, app and metric the speed figure (hourly_rt) and the batch figure (hourly_batch), and
 * how many first installs batch decided differently from the stream (attributions_rt).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../infra/clickhouse/client';
import { METRICS, METRIC_NAMES } from '../schemas/views';
import type { AttributionDiff, DriftRow } from './run-types';
import { expiredSpeedDays } from './speed-retention';

const HOURLY_VIEWS = ['hourly_rt', 'hourly_batch'] as const;
type Totals = Map<string, Record<string, number>>; // `${day}\0${app}` → metric → value

async function dayTotals(ch: ClickHouseClient, table: (typeof HOURLY_VIEWS)[number], days: readonly string[]): Promise<Totals> {
  // Prefixed aliases: `sum(events) AS events` would shadow the column inside sumIf(events, …).
  const metrics = METRIC_NAMES.map((m) => `${METRICS[m]} AS m_${m}`).join(', ');
  const rows = await queryRows<Record<string, string | number>>(
    ch,
    `SELECT toString(toDate(hour)) AS day, app_id, ${metrics} FROM ${table}
     WHERE toDate(hour) IN {days:Array(Date)} GROUP BY day, app_id`,
    { days },
  );
  return new Map(rows.map((r) => [`${r.day}\0${r.app_id}`, Object.fromEntries(METRIC_NAMES.map((m) => [m, Number(r[`m_${m}`])]))]));
}

/** Totals hold revenue in micro-units; drift shows it as reports do, in currency units. */
const shown = (metric: string, v: number) => (metric === 'revenue' ? v / 1e6 : v);

export function driftRows(speed: Totals, batch: Totals, expired: ReadonlySet<string> = new Set()): DriftRow[] {
  const keys = [...new Set([...speed.keys(), ...batch.keys()])].sort();
  return keys.flatMap((key) => {
    const [day, app_id] = key.split('\0');
    return METRIC_NAMES.map((metric): DriftRow => {
      const b = batch.get(key)?.[metric] ?? 0;
      if (expired.has(day)) return { day, app_id, metric, speed: 'expired', batch: shown(metric, b), abs_diff: null, rel_diff: null };
      const s = speed.get(key)?.[metric] ?? 0;
      const rel_diff = b !== 0 ? (s - b) / b : s === 0 ? 0 : null;
      return { day, app_id, metric, speed: shown(metric, s), batch: shown(metric, b), abs_diff: shown(metric, s - b), rel_diff };
    });
  });
}

export async function measureDrift(ch: ClickHouseClient, days: readonly string[]): Promise<DriftRow[]> {
  const [speed, batch] = await Promise.all(HOURLY_VIEWS.map((t) => dayTotals(ch, t, days)));
  return driftRows(speed, batch, await expiredSpeedDays(ch, days));
}

/** Compares the first installs of `days` as batch and the stream decided them. */
export async function diffAttributions(ch: ClickHouseClient, days: readonly string[]): Promise<AttributionDiff> {
  // attributions_* are ReplacingMergeTree(decided_at): the latest decision per install counts.
  const latest = (table: string, flag: string) => `
    SELECT app_id, install_event_id, 1 AS ${flag},
           argMax(outcome, decided_at) AS outcome, argMax(channel, decided_at) AS channel,
           argMax(campaign_id, decided_at) AS campaign_id
    FROM ${table} WHERE toDate(ts) IN {days:Array(Date)} GROUP BY app_id, install_event_id`;
  const [r] = await queryRows<Record<keyof AttributionDiff, number>>(
    ch,
    `SELECT
       countIf(in_b AND in_s) AS compared,
       countIf(in_b AND in_s AND b.outcome = 'attributed' AND s.outcome = 'attributed'
               AND (b.channel != s.channel OR b.campaign_id != s.campaign_id)) AS changed_channel,
       countIf(in_b AND in_s AND b.outcome = 'organic' AND s.outcome != 'organic') AS became_organic,
       countIf(in_b AND in_s AND b.outcome = 'attributed' AND s.outcome != 'attributed') AS became_attributed,
       countIf(in_b AND in_s AND b.outcome = 'rejected' AND s.outcome != 'rejected') AS newly_rejected,
       countIf(in_b AND in_s AND s.outcome = 'rejected' AND b.outcome != 'rejected') AS no_longer_rejected,
       countIf(in_b AND NOT in_s) AS only_in_batch,
       countIf(in_s AND NOT in_b) AS only_in_speed
     FROM (${latest('attributions_batch', 'in_b')}) AS b
     FULL OUTER JOIN (${latest('attributions_rt', 'in_s')}) AS s USING (app_id, install_event_id)
     SETTINGS join_use_nulls = 0`,
    { days },
  );
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])) as unknown as AttributionDiff;
}
