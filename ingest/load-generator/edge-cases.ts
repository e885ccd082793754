/**
 * Hand-placed scenarios on the edges of the attribution rules (DESIGN.md section 4), added
 * once per app. Their events are "plain": numeric ts, correct clock, never late, duplicated or
 * corrupted, so the expected decision below holds for the stream as well as for batch.
 * Each scenario has its own device, IP (CGNAT space, which random devices never use) and user
 * agent, so no other traffic can match it.
 */
import type { AppProfile, Campaign } from './catalog';
import { DAY, HOUR, LOOKBACK_MS, MINUTE, SECOND } from './journeys';
import type { Device, EmitOverrides, Emitter, EventTag } from './journeys';

export interface EdgeCaseExpectation {
  outcome: 'attributed' | 'organic' | 'rejected';
  match: 'device' | 'probabilistic' | null;
  fraud_reason: 'click_injection' | 'click_flooding' | 'blocked_ip' | null;
  /** Suffix of the winning click's event_id (`edge-<run>-<scenario>-<suffix>`). */
  click: string | null;
  ctit_ms: number | null;
}

interface EdgeCase {
  name: string;
  expected: EdgeCaseExpectation;
  /** Events relative to the install at `t`; the scenario's install has suffix `install`. */
  build(s: Scenario, t: number): void;
}

interface Scenario {
  click(suffix: string, ts: number, o?: { web?: boolean; ip?: string }): void;
  install(suffix: string, ts: number, o?: { ua?: null; ip?: string; tags?: readonly EventTag[] }): void;
}

const attributed = (click: string, ctit: number, match: 'device' | 'probabilistic' = 'device'): EdgeCaseExpectation => ({
  outcome: 'attributed',
  match,
  fraud_reason: null,
  click,
  ctit_ms: ctit,
});
const rejected = (reason: 'click_injection' | 'click_flooding' | 'blocked_ip', click: string, ctit: number): EdgeCaseExpectation => ({
  outcome: 'rejected',
  match: 'device',
  fraud_reason: reason,
  click,
  ctit_ms: ctit,
});
const ORGANIC: EdgeCaseExpectation = { outcome: 'organic', match: null, fraud_reason: null, click: null, ctit_ms: null };

const pad = (i: number) => String(i).padStart(2, '0');

/** `n` clicks: the first at `first`, the others evenly up to one minute before `t`. */
function clickRun(s: Scenario, t: number, n: number, first: number): void {
  s.click('click-00', first);
  const last = t - MINUTE;
  for (let i = 1; i < n; i++) s.click(`click-${pad(i)}`, first + Math.round(((last - first) * i) / (n - 1)));
}

export const EDGE_CASES: readonly EdgeCase[] = [
  {
    name: 'tie-click-ts',
    expected: attributed('click-b', HOUR),
    build: (s, t) => {
      s.click('click-b', t - HOUR);
      s.click('click-a', t - HOUR);
      s.install('install', t);
    },
  },
  {
    name: 'lookback-exactly-7d',
    expected: attributed('click', LOOKBACK_MS),
    build: (s, t) => {
      s.click('click', t - LOOKBACK_MS);
      s.install('install', t);
    },
  },
  {
    name: 'lookback-7d-plus-1ms',
    expected: ORGANIC,
    build: (s, t) => {
      s.click('click', t - LOOKBACK_MS - 1);
      s.install('install', t);
    },
  },
  {
    name: 'ctit-exactly-10s',
    expected: attributed('click', 10 * SECOND),
    build: (s, t) => {
      s.click('click', t - 10 * SECOND);
      s.install('install', t);
    },
  },
  {
    name: 'ctit-9999ms',
    expected: rejected('click_injection', 'click', 9_999),
    build: (s, t) => {
      s.click('click', t - 9_999);
      s.install('install', t);
    },
  },
  {
    name: 'ctit-zero',
    expected: rejected('click_injection', 'click', 0),
    build: (s, t) => {
      s.click('click', t);
      s.install('install', t);
    },
  },
  {
    name: 'click-after-install',
    expected: ORGANIC,
    build: (s, t) => {
      s.click('click', t + 1);
      s.install('install', t);
    },
  },
  {
    name: 'flooding-exactly-20',
    expected: attributed('click-19', MINUTE),
    build: (s, t) => {
      clickRun(s, t, 20, t - DAY);
      s.install('install', t);
    },
  },
  {
    name: 'flooding-21',
    expected: rejected('click_flooding', 'click-20', MINUTE),
    build: (s, t) => {
      clickRun(s, t, 21, t - DAY); // the 21st click is the one at exactly t - 24 h
      s.install('install', t);
    },
  },
  {
    name: 'flooding-21st-outside',
    expected: attributed('click-20', MINUTE),
    build: (s, t) => {
      clickRun(s, t, 21, t - DAY - 1);
      s.install('install', t);
    },
  },
  {
    name: 'injection-before-flooding',
    expected: rejected('click_injection', 'click-24', 5 * SECOND),
    build: (s, t) => {
      clickRun(s, t, 24, t - 20 * HOUR);
      s.click('click-24', t - 5 * SECOND);
      s.install('install', t);
    },
  },
  {
    name: 'probabilistic-exactly-24h',
    expected: attributed('click', DAY, 'probabilistic'),
    build: (s, t) => {
      s.click('click', t - DAY, { web: true });
      s.install('install', t);
    },
  },
  {
    name: 'probabilistic-24h-plus-1ms',
    expected: ORGANIC,
    build: (s, t) => {
      s.click('click', t - DAY - 1, { web: true });
      s.install('install', t);
    },
  },
  {
    name: 'probabilistic-tie',
    expected: attributed('click-b', 2 * HOUR, 'probabilistic'),
    build: (s, t) => {
      s.click('click-a', t - 2 * HOUR, { web: true });
      s.click('click-b', t - 2 * HOUR, { web: true });
      s.install('install', t);
    },
  },
  {
    name: 'probabilistic-empty-ua',
    expected: ORGANIC,
    build: (s, t) => {
      s.click('click', t - HOUR, { web: true });
      s.install('install', t, { ua: null });
    },
  },
  {
    name: 'device-beats-probabilistic',
    expected: attributed('click-device', 3 * HOUR),
    build: (s, t) => {
      s.click('click-device', t - 3 * HOUR);
      s.click('click-web', t - HOUR, { web: true });
      s.install('install', t);
    },
  },
  {
    name: 'first-install-tie',
    expected: attributed('click', HOUR),
    build: (s, t) => {
      s.click('click', t - HOUR);
      // Same ts: the smaller event_id ("install") is the first install, "install-z" a reinstall.
      s.install('install-z', t, { tags: ['reinstall'] });
      s.install('install', t);
    },
  },
  {
    name: 'blocked-ip-click-v6',
    expected: rejected('blocked_ip', 'click', HOUR),
    build: (s, t) => {
      s.click('click', t - HOUR, { ip: '2001:db8:bad:7::1' });
      s.install('install', t);
    },
  },
  {
    name: 'blocked-ip-install-v4',
    expected: rejected('blocked_ip', 'click', HOUR),
    build: (s, t) => {
      s.click('click', t - HOUR);
      s.install('install', t, { ip: '203.0.113.77' });
    },
  },
];

/** Edge scenarios of one app, their installs `spacingMs` apart from `firstInstallAt`. */
export function emitEdgeCases(
  e: Emitter,
  app: AppProfile,
  appIndex: number,
  runTag: string,
  firstInstallAt: number,
  spacingMs: number,
  campaign: Campaign,
): void {
  EDGE_CASES.forEach((edge, k) => {
    const prefix = `edge-${runTag}-${edge.name}`;
    const device: Device = {
      app,
      id: `${prefix}-device`,
      look: { os: 'android', os_version: '14', ua: `weir-edge/1.0 (${edge.name}; app ${appIndex})` },
      country: 'US',
      appVersion: app.latestVersion,
      // 100.64.0.0/10 (CGNAT): unique per app and scenario, never drawn for random devices.
      ip: `100.${64 + (appIndex % 64)}.${Math.floor(appIndex / 64)}.${k + 1}`,
      skewMs: 0,
      tags: [`edge:${edge.name}`],
    };
    const base = (suffix: string): EmitOverrides => ({ plain: true, eventId: `${prefix}-${suffix}` });
    const scenario: Scenario = {
      click: (suffix, ts, o) =>
        e.emit(device, 'click', ts, { campaign_id: campaign.campaign_id, channel: campaign.channel }, {
          ...base(suffix),
          deviceId: o?.web ? `${prefix}-web` : undefined,
          ip: o?.ip,
        }),
      install: (suffix, ts, o) =>
        e.emit(device, 'install', ts, undefined, {
          ...base(suffix),
          ua: o?.ua,
          ip: o?.ip,
          tags: o?.tags ? [...device.tags, ...o.tags] : undefined,
        }),
    };
    edge.build(scenario, firstInstallAt + k * spacingMs);
  });
}
