/**
 * Deterministic generator of realistic wire events (what SDKs and ad networks send), in the
 * order a collector would receive them. Same options, same output: one seeded PRNG, no clock.
 *
 * Devices start their journeys in time order over `[startMs, endMs]` (denser in the UTC
 * evening); each journey's events wait in a queue keyed by simulated send time, so the stream
 * is in send order: mostly event-time order, with late events (sent hours to days after they
 * happened) and client retries (the same event again) further down. Only events whose true
 * time is at most `endMs` are emitted, so with `endMs = now` nothing lies in the future.
 */
import type { EventType, WireEvent } from '../../schemas/event';
import { MIN_EVENT_TS } from '../../schemas/event';
import {
  COUNTRIES,
  buildAppProfile,
  drawDeviceLook,
  drawFraudIp,
  drawNearMissIp,
  drawPublicIp,
  createUuidFormatter,
  type AppProfile,
  type Campaign,
} from './catalog';
import { EDGE_CASES, emitEdgeCases } from './edge-cases';
import {
  DAY,
  HOUR,
  MINUTE,
  SECOND,
  existingUserJourney,
  fraudJourney,
  later,
  organicJourney,
  paidJourney,
  probabilisticJourney,
  viewerJourney,
  type Device,
  type EmitOverrides,
  type Emitter,
  type EventExtra,
  type EventTag,
  type FraudPattern,
  type JourneyKind,
} from './journeys';
import { Rng, WeightedTable, deriveSeed, fmix32, hex32 } from './prng';
import { SendOrderQueue } from './send-order-queue';

export { FRAUD_CIDRS, CHANNELS } from './catalog';
export { EDGE_CASES } from './edge-cases';
export type { EdgeCaseExpectation } from './edge-cases';
export type { EventTag, FraudPattern, JourneyKind } from './journeys';

export interface GenerateOptions {
  seed: number;
  /** Event-time span: journeys start in it and no event is later than `endMs`. */
  startMs: number;
  endMs: number;
  /** App ids (default `['demo']`). */
  apps?: readonly string[];
  /**
   * Number of events to produce (default 10 000): the stream stops after exactly this many
   * (it can only be shorter for tiny targets). Ignored as a size when `devicesPerApp` is set,
   * but still a cap.
   */
  events?: number;
  /** Exact number of simulated devices per app (then the event count follows from it). */
  devicesPerApp?: number;
  /** Share of events sent 1 h–3 days after they happened (default 0.02). */
  lateFraction?: number;
  /** Share of events a client re-sends (same event object, same event_id) (default 0.02). */
  duplicateFraction?: number;
  /** Share of devices whose clock is off by 30 s–12 h; their events carry `sent_at` (default 0.03). */
  skewFraction?: number;
  /** Share of devices following a fraud pattern (default 0.05). */
  fraudFraction?: number;
  /** Share of events followed by a deliberately invalid event (default 0). */
  invalidFraction?: number;
  /** Share of events whose `ts` is an ISO-8601 string instead of epoch ms (default 0.05). */
  isoTimestampFraction?: number;
  /** Add the hand-placed rule-edge scenarios of `EDGE_CASES` once per app (default true). */
  edgeCases?: boolean;
  /**
   * Time compression in (0, 1] (default 1): journeys' delays and late or re-sent copies'
   * delays are multiplied by it, never across the 10 s click-injection threshold (see
   * `later` in journeys.ts). `weir start --demo` uses 1/60 so that whole journeys (click,
   * install, sessions, purchases, reinstalls) play out within minutes of real time.
   */
  timeScale?: number;
}

export interface GeneratedEvent {
  /** Position in the stream (0, 1, 2, …). */
  sendAtOrder: number;
  /** Simulated time at which the client sends it (true clock, ms). */
  sendAtMs: number;
  /** When it happened (true clock, ms): the corrected `ts` the collector should derive. */
  trueTs: number;
  /** Creation sequence number (ties on `sendAtMs` break on it). */
  seq: number;
  /** The wire event. Items tagged `invalid` are deliberately not valid (typed as WireEvent anyway). */
  event: WireEvent;
  tags: readonly EventTag[];
}

type Normalised = Required<Omit<GenerateOptions, 'devicesPerApp' | 'events'>> & {
  devicesPerApp: number | undefined;
  events: number | undefined;
};

const DEFAULT_EVENTS = 10_000;

function normaliseOptions(o: GenerateOptions): Normalised {
  const n: Normalised = {
    seed: o.seed,
    startMs: o.startMs,
    endMs: o.endMs,
    apps: o.apps && o.apps.length > 0 ? [...o.apps] : ['demo'],
    events: o.events ?? (o.devicesPerApp === undefined ? DEFAULT_EVENTS : undefined),
    devicesPerApp: o.devicesPerApp,
    lateFraction: o.lateFraction ?? 0.02,
    duplicateFraction: o.duplicateFraction ?? 0.02,
    skewFraction: o.skewFraction ?? 0.03,
    fraudFraction: o.fraudFraction ?? 0.05,
    invalidFraction: o.invalidFraction ?? 0,
    isoTimestampFraction: o.isoTimestampFraction ?? 0.05,
    edgeCases: o.edgeCases ?? true,
    timeScale: o.timeScale ?? 1,
  };
  const fail = (msg: string): never => {
    throw new RangeError(`generateEvents: ${msg}`);
  };
  if (!Number.isSafeInteger(n.seed)) fail(`seed must be an integer, got ${n.seed}`);
  if (!Number.isSafeInteger(n.startMs) || !Number.isSafeInteger(n.endMs) || n.endMs <= n.startMs)
    fail(`startMs and endMs must be integers with startMs < endMs, got ${n.startMs}, ${n.endMs}`);
  // Edge cases reach 7 days + 1 ms before their installs, which must stay after 2000-01-01.
  if (n.startMs < MIN_EVENT_TS + 8 * DAY) fail(`startMs must be at least 8 days after 2000-01-01`);
  if (n.events !== undefined && (!Number.isSafeInteger(n.events) || n.events < 0)) fail(`events must be a non-negative integer`);
  if (n.devicesPerApp !== undefined && (!Number.isSafeInteger(n.devicesPerApp) || n.devicesPerApp < 0))
    fail(`devicesPerApp must be a non-negative integer`);
  for (const k of ['lateFraction', 'duplicateFraction', 'skewFraction', 'fraudFraction', 'invalidFraction', 'isoTimestampFraction'] as const) {
    if (!(n[k] >= 0 && n[k] <= 1)) fail(`${k} must be between 0 and 1, got ${n[k]}`);
  }
  if (!(n.timeScale > 0 && n.timeScale <= 1)) fail(`timeScale must be in (0, 1], got ${n.timeScale}`);
  if (new Set(n.apps).size !== n.apps.length) fail('apps must be distinct');
  return n;
}

const JOURNEYS = new WeightedTable<JourneyKind>([
  ['viewer', 30],
  ['paid', 30],
  ['organic', 18],
  ['probabilistic', 6],
  ['existing_user', 16],
]);
const FRAUD_PATTERNS = new WeightedTable<FraudPattern>([
  ['click_injection', 30],
  ['click_flooding', 25],
  ['blocked_ip_click', 25],
  ['blocked_ip_install', 20],
]);
const ISO_OFFSETS_MIN = [120, -300, 330, 540, -180];

/** Builds wire events and hands them to `sink` with their simulated send time. */
class EventFactory implements Emitter {
  private seq = 0;
  private eventCounter = 0;
  private deviceCounter = 0;
  private readonly runWord: number;
  private readonly formatUuid: (w0: number, w2: number, w3: number) => string;
  private readonly eventSalt: number;
  private readonly deviceSalt: number;

  constructor(
    private readonly o: Normalised,
    readonly rng: Rng,
    private readonly sink: (item: GeneratedEvent) => void,
  ) {
    this.runWord = deriveSeed(o.seed, 1);
    this.formatUuid = createUuidFormatter(this.runWord);
    this.eventSalt = deriveSeed(o.seed, 2);
    this.deviceSalt = deriveSeed(o.seed, 3);
  }

  get timeScale(): number {
    return this.o.timeScale;
  }

  /** Short per-seed tag in edge-case ids, so runs with different seeds never share ids. */
  get runTag(): string {
    return hex32(this.runWord).slice(0, 6);
  }

  private uuid(counter: number, salt: number): string {
    // fmix32 is a bijection, so distinct counters give distinct first words, hence distinct ids.
    const w0 = fmix32((counter ^ salt) >>> 0);
    const w2 = fmix32((w0 ^ 0x5bd1e995) >>> 0);
    return this.formatUuid(w0, w2, fmix32((w2 + 0x27d4eb2f) >>> 0));
  }

  nextEventId(): string {
    return this.uuid(this.eventCounter++, this.eventSalt);
  }

  newDeviceId(os: 'android' | 'ios'): string {
    const id = this.uuid(this.deviceCounter++, this.deviceSalt);
    return os === 'ios' ? id.toUpperCase() : id;
  }

  newWebId(): string {
    return `web-${this.uuid(this.deviceCounter++, this.deviceSalt)}`;
  }

  emit(d: Device, type: EventType, trueTs: number, extra?: EventExtra, o?: EmitOverrides): string | undefined {
    if (trueTs > this.o.endMs) return undefined; // has not happened yet
    const rng = this.rng;
    const plain = o?.plain === true;
    const eventId = o?.eventId ?? this.nextEventId();
    const adEvent = type === 'impression' || type === 'click';
    // Attribution needs ip and ua on clicks and installs; SDK events sometimes lack them (the
    // collector then fills ip from the request).
    const needsNetwork = adEvent || type === 'install';
    const ip = o?.ip !== undefined ? o.ip : needsNetwork || rng.chance(0.9) ? d.ip : null;
    const ua = o?.ua !== undefined ? o.ua : needsNetwork || rng.chance(0.95) ? d.look.ua : null;

    let sendAt: number;
    let late = false;
    if (plain) sendAt = trueTs + 100;
    else if (rng.chance(this.o.lateFraction)) {
      late = true;
      sendAt = trueTs + later(this, Math.round(rng.logUniform(HOUR, 3 * DAY)));
    } else sendAt = trueTs + Math.min(MINUTE, Math.round(rng.logNormal(800, 1))); // SDK batching delay

    const skew = plain ? 0 : d.skewMs;
    const iso = !plain && rng.chance(this.o.isoTimestampFraction);
    const ev: WireEvent = {
      event_id: eventId,
      app_id: d.app.id,
      type,
      ts: iso ? formatIso(trueTs + skew, rng) : trueTs + skew,
      device_id: o?.deviceId ?? d.id,
    };
    // A skewed device stamps both times with its own clock; the collector corrects ts by
    // (received_at - sent_at), which cancels the skew.
    if (skew !== 0) ev.sent_at = sendAt + skew;
    if (ip) ev.ip = ip;
    if (ua) ev.ua = ua;
    ev.os = d.look.os;
    ev.os_version = d.look.os_version;
    if (!adEvent) ev.app_version = d.appVersion;
    if (plain || rng.chance(0.97)) ev.country = d.country;
    if (extra) Object.assign(ev, extra);

    let tags = o?.tags ?? d.tags;
    if (late || iso) tags = [...tags, ...(late ? (['late'] as const) : []), ...(iso ? (['iso_ts'] as const) : [])];

    if (!plain && rng.chance(this.o.invalidFraction)) this.emitInvalid(ev, sendAt, trueTs, tags);
    this.push(sendAt, trueTs, ev, tags);
    if (!plain && rng.chance(this.o.duplicateFraction)) {
      // A retry after a lost response (seconds) or an offline queue flushed again (hours).
      const dupTags = [...tags, 'duplicate'] as const;
      let at = sendAt;
      for (let copies = rng.chance(0.1) ? 2 : 1; copies > 0; copies--) {
        at += rng.chance(0.7) ? rng.int(50, 5 * SECOND) : later(this, Math.round(rng.logUniform(MINUTE, 6 * HOUR)));
        this.push(at, trueTs, { ...ev }, dupTags);
      }
    }
    return eventId;
  }

  /**
   * A corrupted variant of `ev`. Half reuse its event_id and are sent just before it (a
   * rejected copy is no copy: the valid one must still win); half carry a fresh id.
   */
  private emitInvalid(ev: WireEvent, sendAt: number, trueTs: number, tags: readonly EventTag[]): void {
    const rng = this.rng;
    const sameId = rng.chance(0.5);
    const bad: Record<string, unknown> = { ...ev, event_id: sameId ? ev.event_id : this.nextEventId() };
    switch (rng.int(0, sameId ? 6 : 7)) {
      case 0:
        bad.campaign = 'spring_sale'; // unknown top-level field
        break;
      case 1:
        delete bad.device_id;
        break;
      case 2:
        bad.ts = '2026-02-30T10:00:00Z';
        break;
      case 3:
        // Valid shape, but before 2000-01-01: only the collector's time check rejects it.
        bad.ts = MIN_EVENT_TS - 1;
        delete bad.sent_at;
        break;
      case 4:
        bad.country = 'USA';
        break;
      case 5:
        bad.type = 'signup';
        break;
      case 6:
        bad.properties = { blob: 'x'.repeat(9000) };
        break;
      default:
        bad.event_id = `${ev.event_id}-${'x'.repeat(40)}`; // longer than 64 characters
    }
    this.push(sendAt, trueTs, bad as WireEvent, [...tags, 'invalid']);
  }

  private push(sendAtMs: number, trueTs: number, event: WireEvent, tags: readonly EventTag[]): void {
    this.sink({ sendAtOrder: -1, sendAtMs, trueTs, seq: this.seq++, event, tags });
  }
}

function formatIso(ms: number, rng: Rng): string {
  if (rng.chance(0.5)) return new Date(ms).toISOString();
  const off = rng.pick(ISO_OFFSETS_MIN);
  const local = new Date(ms + off * MINUTE).toISOString().slice(0, 23);
  const abs = Math.abs(off);
  return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * Maps u in [0, 1] to a journey start in [startMs, endMs], monotonically, with more starts
 * around 18:00 UTC than around 06:00 (a daily cycle) when the span covers at least two days.
 * x - A sin(...) has derivative >= 1 - 0.5 - 0.08 > 0, so sorted u stay sorted.
 */
function createTimeline(startMs: number, endMs: number): (u: number) => number {
  const span = endMs - startMs;
  if (span < 2 * DAY) return (u) => startMs + Math.floor(u * span);
  const amp = DAY / (4 * Math.PI);
  const phase = startMs - 18 * HOUR;
  const wave = (x: number) => Math.sin((2 * Math.PI * (x + phase)) / DAY);
  const w0 = wave(0);
  const endFix = (amp * (wave(span) - w0)) / span;
  return (u) => {
    const x = u * span;
    return Math.min(endMs, startMs + Math.floor(x - amp * (wave(x) - w0) + endFix * x));
  };
}

interface World {
  profiles: AppProfile[];
  pickApp: (rng: Rng, index: number) => AppProfile;
  natPool: string[];
}

function buildWorld(o: Normalised): World {
  const rng = new Rng(deriveSeed(o.seed, 4));
  const profiles = o.apps.map((id) => buildAppProfile(rng, id));
  const natPool = Array.from({ length: 40 }, () => drawPublicIp(rng));
  // Apps of different sizes (1, 0.71, 0.58, …), except when each app has a fixed device count.
  const bySize = new WeightedTable(profiles.map((p, i) => [p, 1 / Math.sqrt(i + 1)] as const));
  const pickApp =
    o.devicesPerApp !== undefined ? (_rng: Rng, i: number) => profiles[i % profiles.length] : (r: Rng) => bySize.pick(r);
  return { profiles, pickApp, natPool };
}

function simulateDevice(f: EventFactory, w: World, o: Normalised, index: number, start: number): void {
  const rng = f.rng;
  const app = w.pickApp(rng, index);
  const look = drawDeviceLook(rng);
  const fraud = rng.chance(o.fraudFraction) ? FRAUD_PATTERNS.pick(rng) : undefined;
  const kind = fraud ? undefined : JOURNEYS.pick(rng);
  const nearMiss = !fraud && rng.chance(0.01);
  const ip =
    fraud === 'blocked_ip_install'
      ? drawFraudIp(rng)
      : nearMiss
        ? drawNearMissIp(rng)
        : rng.chance(0.06)
          ? rng.pick(w.natPool) // carrier NAT: unrelated devices share an address
          : drawPublicIp(rng);
  const skewMs = rng.chance(o.skewFraction)
    ? (rng.chance(0.5) ? 1 : -1) * Math.min(12 * HOUR, Math.max(30 * SECOND, Math.round(rng.logNormal(10 * MINUTE, 1.5))))
    : 0;
  const tags: EventTag[] = [fraud ? `fraud:${fraud}` : (kind as JourneyKind)];
  if (skewMs !== 0) tags.push('skew');
  if (nearMiss) tags.push('near_miss_ip');
  const d: Device = {
    app,
    id: f.newDeviceId(look.os),
    look,
    country: COUNTRIES.pick(rng),
    appVersion: app.versions.pick(rng),
    ip,
    skewMs,
    tags,
  };
  if (fraud) return fraudJourney(f, d, start, fraud);
  switch (kind) {
    case 'viewer':
      return viewerJourney(f, d, start);
    case 'paid':
      return paidJourney(f, d, start);
    case 'organic':
      return organicJourney(f, d, start);
    case 'probabilistic':
      return probabilisticJourney(f, d, start);
    default:
      return existingUserJourney(f, d, start);
  }
}

/** Prior for the events a device produces, before the run has measured its own average. */
const PRIOR_EVENTS_PER_DEVICE = 9;
const PRIOR_WEIGHT = 200;

/** Generates the event stream lazily: millions of events in bounded memory (pending journeys only). */
export function* generateEvents(options: GenerateOptions): Generator<GeneratedEvent, void, undefined> {
  const o = normaliseOptions(options);
  const world = buildWorld(o);
  const queue = new SendOrderQueue<GeneratedEvent>();
  const rng = new Rng(deriveSeed(o.seed, 5));
  let created = 0;
  const factory = new EventFactory(o, rng, (item) => {
    created++;
    queue.push(item);
  });
  const limit = o.events ?? Number.POSITIVE_INFINITY;

  if (o.edgeCases) {
    // Scenarios sit in the middle half of the span, spaced so that every app's fit.
    const span = o.endMs - o.startMs;
    const slots = EDGE_CASES.length * world.profiles.length;
    const spacing = Math.max(SECOND, Math.min(10 * MINUTE, Math.floor(span / 2 / slots)));
    world.profiles.forEach((app, i) => {
      const campaign = (app.campaigns.get('google') as Campaign[])[0];
      const first = o.startMs + Math.floor(span / 4) + i * EDGE_CASES.length * spacing;
      emitEdgeCases(factory, app, i, factory.runTag, first, spacing, campaign);
    });
  }
  const edgeEvents = created;

  // How many devices are still to come. With a fixed count, exact. With an event target,
  // estimated from the average so far (journeys vary from 1 to 60+ events), 1 % over, and the
  // stream is cut at the target: the total comes out exact without a pilot run.
  const fixedDevices = o.devicesPerApp !== undefined ? o.devicesPerApp * o.apps.length : undefined;
  const devicesLeft = (done: number): number => {
    if (fixedDevices !== undefined) return fixedDevices - done;
    const mean = (PRIOR_EVENTS_PER_DEVICE * PRIOR_WEIGHT + (created - edgeEvents)) / (PRIOR_WEIGHT + done);
    const missing = limit - created;
    return missing <= 0 ? 0 : Math.ceil((missing / mean) * 1.01);
  };

  const timeline = createTimeline(o.startMs, o.endMs);
  let order = 0;
  let u = 0;
  // A device starting at the very end of the span can emit nothing (its first event would be
  // after endMs); the bound keeps a pathological option mix (all fraud) from spinning forever.
  const maxDevices = fixedDevices ?? 10 * limit + 1000;
  for (let i = 0; i < maxDevices; i++) {
    const left = devicesLeft(i);
    if (left <= 0) break;
    // The next start: the smallest of `left` uniforms above u (sorted uniforms, one at a time).
    u = 1 - (1 - u) * Math.pow(rng.next(), 1 / left);
    const start = timeline(u);
    // Every event still to come is sent at or after `start`, so earlier ones can go now.
    for (let item = queue.popDue(start); item !== undefined; item = queue.popDue(start)) {
      if (order >= limit) return;
      item.sendAtOrder = order++;
      yield item;
    }
    simulateDevice(factory, world, o, i, start);
  }
  for (let item = queue.popDue(Infinity); item !== undefined && order < limit; item = queue.popDue(Infinity)) {
    item.sendAtOrder = order++;
    yield item;
  }
}

/** The whole stream as an array (for tests and small runs). */
export function generateEventArray(options: GenerateOptions): GeneratedEvent[] {
  return Array.from(generateEvents(options));
}
