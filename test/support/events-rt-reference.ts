/**
 * What speed_staged must hold for the rows the speed layer hands ClickHouse, read in plain code
 * (not with the insert's SQL): the tests compare it with what ClickHouse stored. DESIGN.md
 * section 5: a name only for custom events, a currency and revenue only for purchases, an error
 * type and message only for errors; the event's own channel and campaign (the derived ones are
 * decided after staging, speed-layer/sql/events-rt.sql).
 */
import type { EventsRtRows } from '../../speed-layer/events-rt-rows';

export interface EventRtRow {
  app_id: string;
  event_id: string;
  ts: string;
  received_at: string;
  device_id: string;
  type: string;
  name: string;
  country: string;
  os: string;
  app_version: string;
  currency: string;
  error_type: string;
  error_message: string;
  fingerprint: string;
  channel: string;
  campaign_id: string;
  fraud_reason: string;
  install_kind: string;
  revenue_micros: number;
  ip: string;
  ua: string;
  kafka_partition: number;
  kafka_offset: number;
}

/** `YYYY-MM-DD hh:mm:ss.mmm` in UTC, as ClickHouse prints a DateTime64(3, 'UTC'). */
export const chText = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

export function rowsOf(rows: EventsRtRows): EventRtRow[] {
  return rows
    .body()
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const r = JSON.parse(line) as Record<string, unknown>;
      const s = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : '');
      const n = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : 0);
      const type = s('type');
      return {
        app_id: s('app_id'),
        event_id: s('event_id'),
        ts: chText(Math.trunc(n('ts'))),
        received_at: chText(Math.trunc(n('received_at'))),
        device_id: s('device_id'),
        type,
        name: type === 'event' ? s('name') : '',
        country: s('country'),
        os: s('os'),
        app_version: s('app_version'),
        currency: type === 'purchase' ? s('currency') : '',
        error_type: type === 'error' ? s('error_type') : '',
        error_message: type === 'error' ? s('error_message') : '',
        fingerprint: s('fingerprint'),
        channel: s('channel'),
        campaign_id: s('campaign_id'),
        fraud_reason: '',
        install_kind: '',
        revenue_micros: type === 'purchase' ? Math.trunc(n('revenue_micros')) : 0,
        ip: s('ip'),
        ua: s('ua'),
        kafka_partition: n('_p'),
        kafka_offset: n('_o'),
      };
    });
}
