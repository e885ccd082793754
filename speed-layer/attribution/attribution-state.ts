/**
 * Stream attribution and anti-fraud (DESIGN.md section 4) over what one Kafka partition has
 * seen. Pure: no I/O, time comes from the events. Events are keyed by app + device, so a
 * device's clicks and installs meet here; a probabilistic match needs the click in the same
 * partition, which is one of the documented speed/batch differences.
 *
 * Memory is bounded by the windows: clicks older than the longest lookback (device) or
 * 24 h (ip + ua) behind the newest event time seen are evicted. First installs are kept
 * (one small entry per installed device) because rule 1 is over all history.
 */
import type { CidrSet } from '../../schemas/cidr';
import type { FraudReason, InstallKind } from '../../schemas/views';

export const DAY_MS = 86_400_000;
export const PROBABILISTIC_WINDOW_MS = DAY_MS;
export const INJECTION_MS = 10_000;
export const FLOODING_WINDOW_MS = DAY_MS;
export const FLOODING_MAX_CLICKS = 20;
/**
 * How late an install may arrive (behind the newest event time of its partition) and still
 * find its clicks: eviction keeps this much beyond the rule windows, and a restore loads the
 * same span, so a restarted partition decides exactly as an uninterrupted one.
 */
export const LATE_ARRIVAL_MS = 4 * DAY_MS;

/** Clicks older than this behind the newest event time are evicted (and not restored). */
export const clickStateSpanMs = (maxLookbackMs: number): number => Math.max(maxLookbackMs, PROBABILISTIC_WINDOW_MS) + FLOODING_WINDOW_MS + LATE_ARRIVAL_MS;

export interface ClickRef {
  event_id: string;
  ts: number;
  ip: string;
  channel: string;
  campaign_id: string;
}

export interface InstallInput {
  app_id: string;
  device_id: string;
  event_id: string;
  ts: number;
  ip: string;
  ua: string;
}

export type Outcome = 'attributed' | 'organic' | 'rejected';

export interface FirstInstall {
  event_id: string;
  ts: number;
  outcome: Outcome;
  channel: string;
  campaign_id: string;
}

export interface Decision extends FirstInstall {
  match: 'device' | 'probabilistic' | null;
  click_event_id: string | null;
  ctit_ms: number | null;
  fraud_reason: FraudReason | null;
}

export interface AppRules {
  lookbackMs: number;
  blocklist: CidrSet;
  globalBlocklist: CidrSet;
}

const deviceKey = (app: string, device: string) => `${app}\u0000${device}`;
export const ipUaKey = (app: string, ip: string, ua: string) => `${app}\u0000${ip}\u0000${ua}`;

/**
 * Clicks of other partitions by `ipUaKey`, for the probabilistic rule: its click comes from
 * another device, which events keyed by app + device usually put in another partition.
 */
export interface ForeignClicks {
  get(ipUaKey: string): readonly ClickRef[] | undefined;
}
const NO_FOREIGN_CLICKS: ForeignClicks = new Map();

/** (ts, event_id) order; event_id in byte order, which for JS strings of BMP text is code-unit order. */
export function clickBefore(a: { ts: number; event_id: string }, b: { ts: number; event_id: string }): boolean {
  return a.ts < b.ts || (a.ts === b.ts && Buffer.compare(Buffer.from(a.event_id), Buffer.from(b.event_id)) < 0);
}

export class AttributionState {
  private readonly byDevice = new ClickIndex();
  private readonly byIpUa = new ClickIndex();
  private readonly firstInstalls = new Map<string, FirstInstall>();
  private newestTs = 0;
  private clickCount = 0;

  /** `maxLookbackMs`: the longest lookback of any app now, read at each eviction. */
  constructor(private readonly maxLookbackMs: () => number) {}

  get size(): { clicks: number; firstInstalls: number } {
    return { clicks: this.clickCount, firstInstalls: this.firstInstalls.size };
  }

  addClick(app: string, device: string, ua: string, c: ClickRef): void {
    this.byDevice.push(deviceKey(app, device), c);
    if (c.ip && ua) this.byIpUa.push(ipUaKey(app, c.ip, ua), c);
    this.clickCount++;
    this.observe(c.ts);
  }

  /**
   * Every click this state has seen from `ipClickHorizon` on is in its ip + ua index (eviction
   * and restore keep at least that span), so it can answer other partitions' probabilistic
   * matches for installs from `ipClickHorizon` + 24 h on.
   */
  get ipClickHorizon(): number {
    return this.newestTs - PROBABILISTIC_WINDOW_MS - LATE_ARRIVAL_MS;
  }

  /** This partition's clicks from one ip and ua (by `ipUaKey`), for other partitions' probabilistic matches. */
  clicksByIpUa(key: string): readonly ClickRef[] | undefined {
    return this.byIpUa.get(key);
  }

  firstInstallOf(app: string, device: string): FirstInstall | undefined {
    return this.firstInstalls.get(deviceKey(app, device));
  }

  /** Restores a decision made before a restart (from the views). */
  restoreFirstInstall(app: string, device: string, fi: FirstInstall): void {
    const k = deviceKey(app, device);
    const cur = this.firstInstalls.get(k);
    if (!cur || clickBefore(fi, cur)) this.firstInstalls.set(k, fi);
  }

  /**
   * Decides an install. Returns undefined for a reinstall (rule 1): the device already has a
   * first install. An install that arrives after a later-stamped one was taken as first is
   * still a reinstall here: the stream cannot take back a decision (batch corrects it).
   */
  decideInstall(i: InstallInput, rules: AppRules, foreign: ForeignClicks = NO_FOREIGN_CLICKS): Decision | undefined {
    this.observe(i.ts);
    const dk = deviceKey(i.app_id, i.device_id);
    if (this.firstInstalls.has(dk)) return undefined;
    const t = i.ts;
    const deviceClicks = this.byDevice.get(dk) ?? [];
    let click = lastClick(deviceClicks, t, rules.lookbackMs);
    let match: Decision['match'] = click ? 'device' : null;
    if (!click && i.ip && i.ua) {
      const k = ipUaKey(i.app_id, i.ip, i.ua);
      click = lastClick([...(this.byIpUa.get(k) ?? []), ...(foreign.get(k) ?? [])], t, PROBABILISTIC_WINDOW_MS);
      if (click) match = 'probabilistic';
    }
    let d: Decision;
    if (!click) {
      d = { event_id: i.event_id, ts: t, outcome: 'organic', channel: 'organic', campaign_id: '', match: null, click_event_id: null, ctit_ms: null, fraud_reason: null };
    } else {
      const fraud = fraudReason(t, click, i.ip, deviceClicks, rules);
      d = {
        event_id: i.event_id,
        ts: t,
        outcome: fraud ? 'rejected' : 'attributed',
        channel: click.channel,
        campaign_id: click.campaign_id,
        match,
        click_event_id: click.event_id,
        ctit_ms: t - click.ts,
        fraud_reason: fraud,
      };
    }
    this.firstInstalls.set(dk, { event_id: d.event_id, ts: d.ts, outcome: d.outcome, channel: d.channel, campaign_id: d.campaign_id });
    return d;
  }

  /**
   * Whether a click that just arrived would have been a candidate for a first install
   * already decided: the stream saw the install first, so batch may decide differently.
   */
  isLateClick(app: string, device: string, c: ClickRef, lookbackMs: number): boolean {
    const fi = this.firstInstalls.get(deviceKey(app, device));
    return !!fi && c.ts <= fi.ts && fi.ts - c.ts <= lookbackMs;
  }

  private observe(ts: number): void {
    if (ts <= this.newestTs) return;
    const before = Math.floor(this.newestTs / 60_000);
    this.newestTs = ts;
    // Evict at most once per minute of event time: eviction walks every list.
    if (Math.floor(ts / 60_000) !== before) this.evict();
  }

  private evict(): void {
    const deviceHorizon = this.newestTs - clickStateSpanMs(this.maxLookbackMs());
    const ipHorizon = this.newestTs - PROBABILISTIC_WINDOW_MS - LATE_ARRIVAL_MS;
    this.clickCount -= this.byDevice.prune(deviceHorizon);
    this.byIpUa.prune(ipHorizon);
  }
}

const MINUTE_MS = 60_000;

/**
 * Click lists by key, with an index of the keys holding clicks of each minute of event
 * time, so that eviction visits only the lists that can hold a click older than the horizon
 * instead of walking every list once per minute of event time (which dominated the speed
 * layer's profile). Lists keep their order; an emptied list is deleted, as before.
 */
class ClickIndex {
  private readonly lists = new Map<string, ClickRef[]>();
  /** Minute (floor(ts / 1 min)) → keys that got a click of that minute (may be stale after a partial prune). */
  private readonly minutes = new Map<number, string[]>();
  /** No click has ts below oldestMinute * 1 min. */
  private oldestMinute = Infinity;

  get(k: string): ClickRef[] | undefined {
    return this.lists.get(k);
  }

  push(k: string, c: ClickRef): void {
    const l = this.lists.get(k);
    if (l) l.push(c);
    else this.lists.set(k, [c]);
    const minute = Math.floor(c.ts / MINUTE_MS);
    const keys = this.minutes.get(minute);
    if (keys) keys.push(k);
    else this.minutes.set(minute, [k]);
    if (minute < this.oldestMinute) this.oldestMinute = minute;
  }

  /** Drops the clicks with ts < horizon; returns how many. */
  prune(horizon: number): number {
    // Every click of minute m has ts >= m * 1 min: nothing can be older than the horizon.
    if (!(this.oldestMinute * MINUTE_MS < horizon)) return 0;
    const affected = new Set<string>();
    let oldest = Infinity;
    for (const [minute, keys] of this.minutes) {
      if (minute * MINUTE_MS < horizon) {
        for (const k of keys) affected.add(k);
        // A minute wholly before the horizon has no click left after this prune.
        if ((minute + 1) * MINUTE_MS <= horizon) {
          this.minutes.delete(minute);
          continue;
        }
      }
      if (minute < oldest) oldest = minute;
    }
    this.oldestMinute = oldest;
    let removed = 0;
    for (const k of affected) {
      const l = this.lists.get(k);
      if (!l) continue;
      const kept = l.filter((c) => c.ts >= horizon);
      removed += l.length - kept.length;
      if (kept.length === 0) this.lists.delete(k);
      else if (kept.length !== l.length) this.lists.set(k, kept);
    }
    return removed;
  }
}

/** Rule 2/3: the greatest (ts, event_id) with ts ≤ t and t − ts ≤ window. */
export function lastClick(clicks: readonly ClickRef[], t: number, windowMs: number): ClickRef | undefined {
  let best: ClickRef | undefined;
  for (const c of clicks) {
    if (c.ts > t || t - c.ts > windowMs) continue;
    if (!best || clickBefore(best, c)) best = c;
  }
  return best;
}

/** Rule 5, in order: injection, flooding (device clicks in [t − 24 h, t]), blocked IP. */
export function fraudReason(t: number, click: ClickRef, installIp: string, deviceClicks: readonly ClickRef[], rules: AppRules): FraudReason | null {
  if (t - click.ts < INJECTION_MS) return 'click_injection';
  let n = 0;
  for (const c of deviceClicks) if (c.ts <= t && c.ts >= t - FLOODING_WINDOW_MS) n++;
  if (n > FLOODING_MAX_CLICKS) return 'click_flooding';
  const blocked = (ip: string) => rules.globalBlocklist.contains(ip) || rules.blocklist.contains(ip);
  if (blocked(click.ip) || blocked(installIp)) return 'blocked_ip';
  return null;
}

/** `install_kind` of the hourly views for an install event. */
export const installKind = (d: Decision | undefined): InstallKind => (d ? d.outcome : 'reinstall');
