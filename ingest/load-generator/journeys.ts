/**
 * Device journeys: what one simulated device does, in its true (server) clock. A journey only
 * decides times and contents; `Emitter.emit` turns each step into a wire event (ids, device
 * clock skew, late delivery, client retries).
 */
import type { EventType } from '../../schemas/event';
import type { AppProfile, Campaign, DeviceLook } from './catalog';
import { EVENT_NAMES, FRAUD_CHANNELS, drawError, drawFraudIp, drawPurchase, pickCampaign } from './catalog';
import type { Rng } from './prng';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** DESIGN.md section 4. */
export const LOOKBACK_MS = 7 * DAY;

export type JourneyKind = 'viewer' | 'paid' | 'organic' | 'probabilistic' | 'existing_user';
export type FraudPattern = 'click_injection' | 'click_flooding' | 'blocked_ip_click' | 'blocked_ip_install';

export type EventTag =
  | JourneyKind
  | `fraud:${FraudPattern}`
  | `edge:${string}`
  | 'reinstall'
  | 'beyond_lookback'
  | 'skew'
  | 'near_miss_ip'
  | 'late'
  | 'duplicate'
  | 'invalid'
  | 'iso_ts';

export interface Device {
  app: AppProfile;
  id: string;
  look: DeviceLook;
  country: string;
  appVersion: string;
  ip: string;
  /** Device clock minus true clock, ms (0 for a correct clock). */
  skewMs: number;
  tags: readonly EventTag[];
}

/** Fields beyond the common ones, by event type. */
export interface EventExtra {
  campaign_id?: string;
  channel?: string;
  name?: string;
  revenue?: number;
  currency?: string;
  error_type?: string;
  error_message?: string;
  properties?: Record<string, unknown>;
}

export interface EmitOverrides {
  deviceId?: string;
  /** null: leave the field out. */
  ip?: string | null;
  ua?: string | null;
  eventId?: string;
  tags?: readonly EventTag[];
  /** Edge cases: exact numeric ts, no skew, never late, duplicated or corrupted. */
  plain?: boolean;
}

export interface Emitter {
  readonly rng: Rng;
  /** Simulated delays are multiplied by this (1: real time; the demo compresses journeys). */
  readonly timeScale: number;
  /** Emits one event at true time `ts`; returns its event_id, or undefined when `ts` is after the simulated span. */
  emit(d: Device, type: EventType, ts: number, extra?: EventExtra, o?: EmitOverrides): string | undefined;
  /** A fresh id for a second identity of the same user (mobile web, another SDK). */
  newWebId(): string;
}

/**
 * A delay of a journey in a time-compressed run (`timeScale` < 1). Never shorter than
 * min(ms, 11 s), so that a gap keeps its side of the 10 s click-injection threshold and the
 * rules judge a compressed journey as they would the real one. Identity at scale 1.
 */
const SCALE_FLOOR_MS = 11 * SECOND;
export function later(e: Emitter, ms: number): number {
  if (e.timeScale === 1) return ms;
  return Math.max(Math.min(ms, SCALE_FLOOR_MS), Math.round(ms * e.timeScale));
}

/** A campaign already has the shape of the click fields; reusing it saves an object per event. */
const campaignFields = (c: Campaign): EventExtra => c;

/** Click-to-install time: mostly minutes, with a long tail of days (some beyond the lookback). */
function drawCtit(rng: Rng): number {
  const ms = rng.chance(0.8) ? rng.logNormal(20 * MINUTE, 1.8) : rng.logNormal(2.5 * DAY, 1.0);
  return Math.max(1, Math.round(ms));
}

function tagsWith(d: Device, ...extra: EventTag[]): readonly EventTag[] {
  return [...d.tags, ...extra];
}

/** Ads seen, maybe clicked, never installed. */
export function viewerJourney(e: Emitter, d: Device, start: number): void {
  const { rng } = e;
  let t = start;
  let c = pickCampaign(rng, d.app);
  for (let i = rng.int(1, 6); i > 0; i--) {
    e.emit(d, 'impression', t, campaignFields(c));
    t += later(e, Math.round(rng.logNormal(3 * MINUTE, 1.5)));
    if (rng.chance(0.3)) c = pickCampaign(rng, d.app);
  }
  if (rng.chance(0.3)) e.emit(d, 'click', t, campaignFields(c));
}

/** Impressions, one to three clicks (last click wins), then an install after a realistic delay. */
export function paidJourney(e: Emitter, d: Device, start: number): void {
  const { rng } = e;
  let t = start;
  let c = pickCampaign(rng, d.app);
  for (let i = rng.int(0, 3); i > 0; i--) {
    e.emit(d, 'impression', t, campaignFields(c));
    t += later(e, Math.round(rng.logNormal(2 * MINUTE, 1.2)));
  }
  const clicks = rng.chance(0.75) ? 1 : rng.int(2, 3);
  for (let i = 0; i < clicks; i++) {
    if (i > 0) {
      t += later(e, Math.round(rng.logNormal(1 * HOUR, 1.5)));
      if (rng.chance(0.6)) c = pickCampaign(rng, d.app); // multi-touch: another network gets the last click
    }
    e.emit(d, 'click', t, campaignFields(c));
  }
  const ctit = later(e, drawCtit(rng));
  installAndUse(e, d, t + ctit, ctit > LOOKBACK_MS ? tagsWith(d, 'beyond_lookback') : undefined);
}

export function organicJourney(e: Emitter, d: Device, start: number): void {
  installAndUse(e, d, start);
}

/**
 * The ad is clicked in a mobile browser (another device id), the app is installed on the phone:
 * only IP and user agent link them, so attribution falls back to the probabilistic match.
 */
export function probabilisticJourney(e: Emitter, d: Device, start: number): void {
  const { rng } = e;
  const webId = e.newWebId();
  const c = pickCampaign(rng, d.app);
  let t = start;
  if (rng.chance(0.7)) {
    e.emit(d, 'impression', t, campaignFields(c), { deviceId: webId });
    t += later(e, Math.round(rng.logNormal(30 * SECOND, 1)));
  }
  e.emit(d, 'click', t, campaignFields(c), { deviceId: webId });
  installAndUse(e, d, t + later(e, Math.max(15 * SECOND, Math.round(rng.logNormal(40 * MINUTE, 1.3)))));
}

/** A user who installed before tracking began: activity without any install. */
export function existingUserJourney(e: Emitter, d: Device, start: number): void {
  sessions(e, d, start, sessionCount(e.rng));
}

export function fraudJourney(e: Emitter, d: Device, start: number, pattern: FraudPattern): void {
  const { rng } = e;
  const c = pickCampaign(rng, d.app, FRAUD_CHANNELS);
  switch (pattern) {
    case 'click_injection': {
      // Malware sees the install broadcast and fires a click just before the first open.
      const tI = start + 10 * SECOND;
      e.emit(d, 'click', tI - rng.int(0, 9_999), campaignFields(c));
      installAndUse(e, d, tI);
      return;
    }
    case 'click_flooding': {
      // Many clicks over the day before, hoping one becomes the last click; none too close to the install.
      const tI = start + later(e, DAY);
      const times: number[] = [];
      for (let i = rng.int(21, 35); i > 0; i--) times.push(tI - later(e, rng.int(30 * SECOND, DAY - MINUTE)));
      times.sort((a, b) => a - b);
      for (const t of times) e.emit(d, 'click', t, campaignFields(c));
      installAndUse(e, d, tI);
      return;
    }
    case 'blocked_ip_click': {
      // The click comes from a data-centre proxy, the install from the real phone.
      e.emit(d, 'click', start, campaignFields(c), { ip: drawFraudIp(rng) });
      installAndUse(e, d, start + later(e, Math.max(MINUTE, Math.round(rng.logNormal(20 * MINUTE, 1)))));
      return;
    }
    case 'blocked_ip_install': {
      // A device farm: the device itself sits behind a blocked range (its ip was drawn from it).
      e.emit(d, 'click', start, campaignFields(c));
      installAndUse(e, d, start + later(e, Math.max(MINUTE, Math.round(rng.logNormal(20 * MINUTE, 1)))));
      return;
    }
  }
}

function sessionCount(rng: Rng): number {
  let n = 1;
  while (n < 12 && rng.chance(0.6)) n++;
  return n;
}

/** The install, the first open, later sessions, and sometimes a reinstall. */
function installAndUse(e: Emitter, d: Device, tI: number, installTags?: readonly EventTag[]): void {
  const { rng } = e;
  e.emit(d, 'install', tI, undefined, installTags ? { tags: installTags } : undefined);
  const last = sessions(e, d, tI + rng.int(1 * SECOND, 20 * SECOND), sessionCount(rng));
  if (rng.chance(0.05)) {
    const tR = last + later(e, Math.max(HOUR, Math.round(rng.logNormal(1 * DAY, 1))));
    e.emit(d, 'install', tR, undefined, { tags: tagsWith(d, 'reinstall') });
    sessions(e, d, tR + rng.int(1 * SECOND, 20 * SECOND), rng.int(1, 2));
  }
}

/** App sessions from `t0`: launch, custom events, sometimes a purchase or an error. Returns the last session's start. */
function sessions(e: Emitter, d: Device, t0: number, count: number): number {
  const { rng } = e;
  let t = t0;
  for (let s = 0; s < count; s++) {
    if (s > 0) t += later(e, Math.max(5 * MINUTE, Math.round(rng.logNormal(6 * HOUR, 1.2))));
    e.emit(d, 'launch', t);
    let u = t;
    for (let k = rng.int(0, 4); k > 0; k--) {
      u += later(e, rng.int(5 * SECOND, 3 * MINUTE));
      const extra: EventExtra = { name: EVENT_NAMES.pick(rng) };
      if (rng.chance(0.15)) extra.properties = { level: rng.int(1, 80), source: rng.pick(['menu', 'push', 'deeplink']) };
      e.emit(d, 'event', u, extra);
    }
    if (rng.chance(0.07)) e.emit(d, 'purchase', t + later(e, rng.int(30 * SECOND, 10 * MINUTE)), drawPurchase(rng));
    if (rng.chance(0.05)) {
      for (let k = rng.chance(0.2) ? 2 : 1; k > 0; k--) e.emit(d, 'error', t + later(e, rng.int(1 * SECOND, 15 * MINUTE)), drawError(rng));
    }
  }
  return t;
}
