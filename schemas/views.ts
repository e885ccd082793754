/**
 * The catalogue of report dimensions and metrics (DESIGN.md section 5) over the hourly views
 * (`hourly_rt`, `hourly_batch`, migrations/002-views.sql). Serving builds queries only from
 * these names; the speed and batch layers fill the same columns.
 */
export const DIMENSIONS = [
  'type',
  'name',
  'country',
  'os',
  'app_version',
  'currency',
  'error_type',
  'channel',
  'campaign_id',
  'fraud_reason',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const INSTALL_KINDS = ['attributed', 'organic', 'rejected', 'reinstall'] as const;
export type InstallKind = (typeof INSTALL_KINDS)[number] | '';

/** Each metric as an aggregate over the hourly view columns. */
export const METRICS = {
  events: 'sum(events)',
  uv: 'uniqExactMerge(uv)',
  impressions: "sumIf(events, type = 'impression')",
  clicks: "sumIf(events, type = 'click')",
  installs: "sumIf(events, install_kind IN ('attributed', 'organic', 'rejected'))",
  reinstalls: "sumIf(events, install_kind = 'reinstall')",
  attributed_installs: "sumIf(events, install_kind = 'attributed')",
  organic_installs: "sumIf(events, install_kind = 'organic')",
  rejected_installs: "sumIf(events, install_kind = 'rejected')",
  launches: "sumIf(events, type = 'launch')",
  custom_events: "sumIf(events, type = 'event')",
  purchases: "sumIf(events, type = 'purchase')",
  revenue: 'sum(revenue_micros)', // micro-units; divided by 1e6 when rendered
  errors: "sumIf(events, type = 'error')",
} as const;
export type Metric = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as Metric[];

/** Fraud reasons of DESIGN.md section 4, in the order the rules are checked. */
export const FRAUD_REASONS = ['click_injection', 'click_flooding', 'blocked_ip'] as const;
export type FraudReason = (typeof FRAUD_REASONS)[number];

/** The hourly view row every layer writes (one per event before aggregation). */
export interface ViewEventRow {
  app_id: string;
  ts: number;
  device_id: string;
  type: string;
  name: string;
  country: string;
  os: string;
  app_version: string;
  currency: string;
  error_type: string;
  channel: string;
  campaign_id: string;
  fraud_reason: string;
  install_kind: InstallKind;
  revenue_micros: number;
}
