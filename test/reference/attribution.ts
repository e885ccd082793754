/**
 * Attribution and anti-fraud, exactly as DESIGN.md section 4 states them, over winning copies
 * only. Deliberately plain (scan the candidates, no clever indexes beyond grouping) so that it
 * reads like the rules and can serve as ground truth for the stream and batch layers.
 */
import type { ArchivedEvent } from '../../schemas/event';
import { compareBytes } from './byte-order';
import { IpRanges } from './ip-ranges';

export const DAY_MS = 86_400_000;
export const PROBABILISTIC_WINDOW_MS = DAY_MS;
export const INJECTION_MS = 10_000;
export const FLOODING_WINDOW_MS = DAY_MS;
/** Flooding is *more than* this many device clicks in the 24 h up to the install. */
export const FLOODING_MAX_CLICKS = 20;

export interface AppSettings {
  /** Attribution lookback in days (default: `ReferenceSettings.defaultLookbackDays`, else 7). */
  lookbackDays?: number;
  /** The app's own blocked CIDRs, in addition to the global list. */
  ipBlocklist?: readonly string[];
}

export interface ReferenceSettings {
  /** Per app; apps not listed use the defaults. */
  apps?: Readonly<Record<string, AppSettings>>;
  /** The global `IP_BLOCKLIST`. */
  globalBlocklist?: readonly string[];
  /** `LOOKBACK_DAYS` (default 7). */
  defaultLookbackDays?: number;
}

export type Outcome = 'attributed' | 'organic' | 'rejected';
export type MatchType = 'device' | 'probabilistic';
export type FraudReason = 'click_injection' | 'click_flooding' | 'blocked_ip';

/** The decision for one first install; the fields of the `attributions` route (without `source`). */
export interface InstallDecision {
  app_id: string;
  install_event_id: string;
  device_id: string;
  /** Install time (corrected event time), ms. */
  ts: number;
  outcome: Outcome;
  match: MatchType | null;
  click_event_id: string | null;
  /** The winning click's channel (also when rejected); `organic` when organic. */
  channel: string;
  /** The winning click's campaign; '' when organic. */
  campaign_id: string;
  ctit_ms: number | null;
  fraud_reason: FraudReason | null;
}

export interface AttributionResult {
  /** First installs, by `app_id\0device_id`. */
  firstInstalls: Map<string, InstallDecision>;
  /** `dedupKey` (`app_id\0event_id`) of every install that is not a first install. */
  reinstalls: Set<string>;
}

export const deviceKey = (appId: string, deviceId: string): string => `${appId}\u0000${deviceId}`;
const networkKey = (appId: string, ip: string, ua: string): string => `${appId}\u0000${ip}\u0000${ua}`;

/** Lookback of an app in ms. */
export function lookbackMs(settings: ReferenceSettings, appId: string): number {
  const days = settings.apps?.[appId]?.lookbackDays ?? settings.defaultLookbackDays ?? 7;
  return days * DAY_MS;
}

/** Orders by `(ts, event_id)` with event_id in byte order: the first-install order. */
export function earlierEvent(a: ArchivedEvent, b: ArchivedEvent): boolean {
  return a.ts !== b.ts ? a.ts < b.ts : compareBytes(a.event_id, b.event_id) < 0;
}

/** The last click: greatest ts among eligible clicks, ties to the greater event_id. */
function lastClick(candidates: readonly ArchivedEvent[] | undefined, t: number, windowMs: number): ArchivedEvent | undefined {
  let best: ArchivedEvent | undefined;
  for (const c of candidates ?? []) {
    if (c.ts > t || t - c.ts > windowMs) continue;
    if (!best || c.ts > best.ts || (c.ts === best.ts && compareBytes(c.event_id, best.event_id) > 0)) best = c;
  }
  return best;
}

/**
 * Decides every first install among `winners` (deduplicated events, any apps). Clicks are all
 * winning clicks of the install's app: the device's own for rule 2, any device's for rule 3.
 */
export function attributeInstalls(winners: readonly ArchivedEvent[], settings: ReferenceSettings = {}): AttributionResult {
  const clicksByDevice = new Map<string, ArchivedEvent[]>();
  const clicksByNetwork = new Map<string, ArchivedEvent[]>();
  const installsByDevice = new Map<string, ArchivedEvent[]>();
  const push = (m: Map<string, ArchivedEvent[]>, k: string, e: ArchivedEvent) => {
    const list = m.get(k);
    if (list) list.push(e);
    else m.set(k, [e]);
  };
  for (const e of winners) {
    if (e.type === 'click') {
      push(clicksByDevice, deviceKey(e.app_id, e.device_id), e);
      if (e.ip !== '' && e.ua !== '') push(clicksByNetwork, networkKey(e.app_id, e.ip, e.ua), e);
    } else if (e.type === 'install') push(installsByDevice, deviceKey(e.app_id, e.device_id), e);
  }

  const blocklists = new Map<string, IpRanges>();
  const blocklist = (appId: string): IpRanges => {
    let b = blocklists.get(appId);
    if (!b) {
      b = new IpRanges([...(settings.globalBlocklist ?? []), ...(settings.apps?.[appId]?.ipBlocklist ?? [])]);
      blocklists.set(appId, b);
    }
    return b;
  };

  const firstInstalls = new Map<string, InstallDecision>();
  const reinstalls = new Set<string>();
  for (const [key, installs] of installsByDevice) {
    // Rule 1: the first install is the smallest (ts, event_id); every other one is a reinstall.
    let first = installs[0];
    for (const i of installs) if (earlierEvent(i, first)) first = i;
    for (const i of installs) if (i !== first) reinstalls.add(`${i.app_id}\u0000${i.event_id}`);

    const t = first.ts;
    const deviceClicks = clicksByDevice.get(key);
    // Rule 2, then rule 3 (only with a non-empty ip and ua on the install).
    let click = lastClick(deviceClicks, t, lookbackMs(settings, first.app_id));
    let match: MatchType | null = click ? 'device' : null;
    if (!click && first.ip !== '' && first.ua !== '') {
      click = lastClick(clicksByNetwork.get(networkKey(first.app_id, first.ip, first.ua)), t, PROBABILISTIC_WINDOW_MS);
      if (click) match = 'probabilistic';
    }
    const decision: InstallDecision = {
      app_id: first.app_id,
      install_event_id: first.event_id,
      device_id: first.device_id,
      ts: t,
      outcome: 'organic',
      match,
      click_event_id: null,
      channel: 'organic',
      campaign_id: '',
      ctit_ms: null,
      fraud_reason: null,
    };
    if (click) {
      decision.click_event_id = click.event_id;
      decision.channel = click.channel;
      decision.campaign_id = click.campaign_id;
      decision.ctit_ms = t - click.ts;
      decision.fraud_reason = fraudReason(first, click, deviceClicks, blocklist(first.app_id));
      decision.outcome = decision.fraud_reason ? 'rejected' : 'attributed';
    }
    firstInstalls.set(key, decision);
  }
  return { firstInstalls, reinstalls };
}

/** Rule 5, in order; the flooding count is over the device's clicks even for a probabilistic match. */
function fraudReason(
  install: ArchivedEvent,
  click: ArchivedEvent,
  deviceClicks: readonly ArchivedEvent[] | undefined,
  blocked: IpRanges,
): FraudReason | null {
  const t = install.ts;
  if (t - click.ts < INJECTION_MS) return 'click_injection';
  const recent = (deviceClicks ?? []).filter((c) => c.ts >= t - FLOODING_WINDOW_MS && c.ts <= t).length;
  if (recent > FLOODING_MAX_CLICKS) return 'click_flooding';
  if (blocked.contains(click.ip) || blocked.contains(install.ip)) return 'blocked_ip';
  return null;
}
