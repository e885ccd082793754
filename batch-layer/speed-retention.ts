/**
 * Speed-side retention (DESIGN.md section 5, "Retention"): the speed views of a day are
 * dropped `SPEED_RETENTION_DAYS` after batch first covered it; reports read covered days from
 * the batch views, so nothing reads them any more except drift, which then says "expired"
 * (drift.ts). The speed tables with a time-to-live of their own (realtime_rt, errors_rt, and
 * the speed layer's rows and state: events_rt, clicks_by_ip_ua_rt, speed_device_clicks, …,
 * docs/semantics.md "Speed layer") need nothing more; speed_first_installs holds a row per
 * device (rule 1 is over all history).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../infra/clickhouse/client';

/** The speed views kept per day, and the expression of their day partition. */
const SPEED_VIEWS = ['hourly_rt', 'attributions_rt'] as const;

/** Drops the speed views of the days covered at least `retentionDays` ago; returns those days. */
export async function expireSpeedDays(ch: ClickHouseClient, retentionDays: number, now: number): Promise<string[]> {
  const rows = await queryRows<{ d: string }>(
    ch,
    `SELECT toString(day) AS d FROM batch_covered_days
     GROUP BY day
     HAVING min(covered_at) <= fromUnixTimestamp64Milli({cutoff_ms:Int64}, 'UTC')
        AND day NOT IN (SELECT day FROM speed_expired_days)
     ORDER BY day`,
    { cutoff_ms: now - retentionDays * 86_400_000 },
  );
  for (const { d } of rows) {
    for (const table of SPEED_VIEWS) await ch.command({ query: `ALTER TABLE ${table} DROP PARTITION {day:String}`, query_params: { day: d } });
    await ch.command({
      query: "INSERT INTO speed_expired_days SELECT {day:Date}, fromUnixTimestamp64Milli({at:Int64}, 'UTC')",
      query_params: { day: d, at: now },
    });
  }
  return rows.map((r) => r.d);
}

/** Which of `days` have had their speed views dropped. */
export async function expiredSpeedDays(ch: ClickHouseClient, days: readonly string[]): Promise<Set<string>> {
  const rows = await queryRows<{ d: string }>(ch, 'SELECT DISTINCT toString(day) AS d FROM speed_expired_days WHERE day IN {days:Array(Date)}', { days });
  return new Set(rows.map((r) => r.d));
}
