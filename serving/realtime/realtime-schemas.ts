/** Query and response shapes of the real-time routes (DESIGN.md section 7). */
import { z } from 'zod';
import { intParam, oneOfIntParam } from '../http/query-params';

export const REALTIME_STEPS = [1, 5, 10, 30, 60, 300] as const;
export const MAX_REALTIME_WINDOW_S = 3600;
export const MAX_ERRORS_WINDOW_S = 86_400;
export const MAX_TOP_ERRORS = 100;

export const RealtimeQuerySchema = z.strictObject({
  window: intParam('window', 1, MAX_REALTIME_WINDOW_S, MAX_REALTIME_WINDOW_S).describe('seconds back from now, by event time (1..3600, default 3600)'),
  step: oneOfIntParam('step', REALTIME_STEPS, 60),
});

const count = z.number().int().min(0);
export const RealtimePointSchema = z.object({
  ts: z.string().describe('step start, ISO-8601 UTC'),
  events: count,
  uv: count,
  clicks: count,
  installs: count.describe('first installs'),
  errors: count,
});
export const RealtimeResponseSchema = z.object({
  now: z.string().describe('server time of the answer, ISO-8601 UTC'),
  step: z.number().int(),
  series: z.array(RealtimePointSchema).describe('one point per step covering the window, oldest first, newest (partial) last; steps without events are zeros'),
});
export type RealtimeResponse = z.infer<typeof RealtimeResponseSchema>;

export const TopErrorsQuerySchema = z.strictObject({
  window: intParam('window', 1, MAX_ERRORS_WINDOW_S, 3600).describe('seconds back from now, by event time, whole minutes (1..86400, default 3600)'),
  limit: intParam('limit', 1, MAX_TOP_ERRORS, 10),
});
export const TopErrorRowSchema = z.object({
  fingerprint: z.string(),
  error_type: z.string(),
  count: count,
  sample_message: z.string(),
  last_seen: z.string().describe('ISO-8601 UTC event time of the latest occurrence'),
});
export const TopErrorsResponseSchema = z.object({ rows: z.array(TopErrorRowSchema).describe('most frequent first') });
export type TopErrorRow = z.infer<typeof TopErrorRowSchema>;

export const StreamQuerySchema = z.strictObject({
  key: z.string().optional().describe('the read key, for EventSource clients that cannot set Authorization'),
});

/** One `data:` message of the live stream, once per second. */
export const LiveUpdateSchema = z.object({
  now: z.string(),
  events_per_s: z.array(z.object({ ts: z.string(), events: count })).describe('the last 60 seconds, oldest first'),
  last_minute: z.object({ events: count, installs: count, uv: count }),
  last_hour: z.object({ events: count, installs: count, uv: count }),
  today: z.object({
    day: z.string().describe('the UTC day, YYYY-MM-DD'),
    installs_by_channel: z.record(z.string(), count).describe('first installs credited to a channel (attributed, or organic under "organic")'),
    fraud_rejections_by_reason: z.record(z.string(), count),
  }),
  top_errors: z.array(TopErrorRowSchema).describe('top 5 of the last hour'),
});
export type LiveUpdate = z.infer<typeof LiveUpdateSchema>;
