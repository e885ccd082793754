/**
 * The per-app settings the rules read (DESIGN.md section 4: each app's lookback, 1–30 days,
 * and its own IP blocklist beside the global one), as the query parameters every rule
 * statement of both layers takes: parallel arrays indexed by app id (weir_lookback_ms,
 * weir_blocklist in attribution-rules.sql).
 */
import { normaliseCidrs } from './cidrs';

export interface AppRuleSettings {
  app_id: string;
  lookback_days: number;
  ip_blocklist: readonly string[];
}

export interface AppRuleParams {
  default_lookback_days: number;
  global_blocklist: string[];
  app_ids: string[];
  app_lookback_days: number[];
  app_blocklists: string[][];
}

/**
 * `normalise`: normaliseCidrs, or a memo of it (the speed layer builds these for every flush
 * group, and an app's list can hold 10 000 ranges).
 */
export function appRuleParams(
  apps: readonly AppRuleSettings[],
  defaults: { lookbackDays: number; ipBlocklist: readonly string[] },
  normalise: (list: readonly string[], what: string) => string[] = normaliseCidrs,
): AppRuleParams {
  return {
    default_lookback_days: defaults.lookbackDays,
    global_blocklist: normalise(defaults.ipBlocklist, 'IP_BLOCKLIST'),
    app_ids: apps.map((a) => a.app_id),
    app_lookback_days: apps.map((a) => a.lookback_days),
    app_blocklists: apps.map((a) => normalise(a.ip_blocklist, `ip_blocklist of app ${a.app_id}`)),
  };
}
