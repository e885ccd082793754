/**
 * The dashboard's live counters, one snapshot per app per tick: events/s of the last minute,
 * last-minute and last-hour totals (speed per-second view), today's installs by channel and
 * fraud rejections by reason (the report path, so batch/speed choice stays in one place),
 * and the top errors of the last hour.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ReportQuery } from '../reports/parse-report-query';
import { DAY_MS } from '../reports/report-time';
import { runReport } from '../reports/run-report';
import type { LiveUpdate } from './realtime-schemas';
import { readSeries, readTopErrors, readTotals } from './realtime-sql';

/** Groups of one app-day: channels × fraud reasons, far below this. */
const TODAY_MAX_ROWS = 100_000;

export function todayInstallsQuery(appId: string, nowMs: number): ReportQuery {
  const loMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return {
    appId,
    granularity: 'daily',
    fromMs: loMs,
    toMs: loMs + DAY_MS,
    tzMin: 0,
    metrics: ['attributed_installs', 'organic_installs', 'rejected_installs'],
    groupBy: ['channel', 'fraud_reason'],
    filters: { type: ['install'] },
    loMs,
    hiMs: loMs + DAY_MS,
  };
}

export async function computeLiveUpdate(ch: ClickHouseClient, appId: string, nowMs: number): Promise<LiveUpdate> {
  const nowS = Math.floor(nowMs / 1000);
  // Sequential on purpose: an embedded chDB runs one query at a time per connection anyway.
  const perSecond = await readSeries(ch, appId, nowMs, 60, 1);
  const lastMinute = await readTotals(ch, appId, nowS - 59, nowS + 1);
  const lastHour = await readTotals(ch, appId, nowS - 3599, nowS + 1);
  const today = await runReport(ch, todayInstallsQuery(appId, nowMs), TODAY_MAX_ROWS);
  const topErrors = await readTopErrors(ch, appId, nowMs, 3600, 5);

  const byChannel: Record<string, number> = {};
  const byReason: Record<string, number> = {};
  for (const r of today.rows) {
    // Rejected installs are credited to no channel (DESIGN.md section 4, rule 5).
    const credited = Number(r.attributed_installs) + Number(r.organic_installs);
    if (credited > 0) byChannel[String(r.channel)] = (byChannel[String(r.channel)] ?? 0) + credited;
    const rejected = Number(r.rejected_installs);
    if (rejected > 0 && r.fraud_reason !== '') byReason[String(r.fraud_reason)] = (byReason[String(r.fraud_reason)] ?? 0) + rejected;
  }
  return {
    now: new Date(nowMs).toISOString(),
    events_per_s: perSecond.map((p) => ({ ts: p.ts, events: p.events })),
    last_minute: lastMinute,
    last_hour: lastHour,
    today: { day: new Date(nowMs).toISOString().slice(0, 10), installs_by_channel: byChannel, fraud_rejections_by_reason: byReason },
    top_errors: topErrors,
  };
}
