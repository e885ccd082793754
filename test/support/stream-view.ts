/**
 * The speed layer against the reference model (test/reference): which first-install
 * decisions of the stream may differ from the exact ones, and what the speed views must hold
 * given the decisions the stream did make. docs/semantics.md ("Speed layer: what it can and
 * cannot see") is the contract: the stream decides each install when it arrives (offset order
 * of its partition) and never takes a decision back; a device's events share one partition.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { ArchivedEvent } from '../../schemas/event';
import { deviceKey, lookbackMs, type InstallDecision } from '../reference/attribution';
import { dedupKey } from '../reference/dedup';
import { eventDimensions } from '../reference/dimensions';
import type { ReferenceModel } from '../reference/reports';

/** The stream's first-install decisions of one app (attributions_rt), in the reference's shape. */
export async function readStreamDecisions(ch: ClickHouseClient, appId: string): Promise<InstallDecision[]> {
  const rs = await ch.query({
    query: `SELECT app_id, install_event_id, device_id, toUnixTimestamp64Milli(ts) AS ts_ms, outcome, match, click_event_id, channel, campaign_id,
                   ctit_ms, fraud_reason
            FROM attributions_rt FINAL WHERE app_id = {app:String}`,
    query_params: { app: appId },
    format: 'JSONEachRow',
  });
  const orNull = <T>(v: unknown) => (v === '' || v === null ? null : (v as T));
  return (await rs.json<Record<string, string | number | null>>()).map((r) => ({
    app_id: String(r.app_id),
    install_event_id: String(r.install_event_id),
    device_id: String(r.device_id),
    ts: Number(r.ts_ms),
    outcome: r.outcome as InstallDecision['outcome'],
    match: orNull<InstallDecision['match']>(r.match),
    click_event_id: orNull<string>(r.click_event_id),
    channel: String(r.channel),
    campaign_id: String(r.campaign_id),
    ctit_ms: r.ctit_ms === null ? null : Number(r.ctit_ms),
    fraud_reason: orNull<InstallDecision['fraud_reason']>(r.fraud_reason),
  }));
}

export const STREAM_DIFFERENCES = ['click_arrived_after_install', 'click_in_other_partition', 'earlier_install_arrived_later'] as const;
export type StreamDifference = (typeof STREAM_DIFFERENCES)[number];

export interface DecisionComparison {
  /** Reference first installs the stream decided identically. */
  equal: number;
  /** Differing decisions by their documented cause. */
  explained: Record<StreamDifference, number>;
  /** Differing decisions no documented cause accounts for (must be none). */
  unexplained: { reference: InstallDecision; stream: InstallDecision | undefined }[];
}

/**
 * Compares every first install of `appId` in the reference with the stream's decision for its
 * device, and names the documented cause of each difference. `model` must be built from the
 * topic's messages (only they carry the Kafka positions, i.e. the stream's arrival order).
 */
export function compareStreamDecisions(model: ReferenceModel, appId: string, stream: readonly InstallDecision[]): DecisionComparison {
  // Keys with the app: generated edge cases reuse event and device ids across apps.
  const streamByDevice = new Map(stream.map((s) => [deviceKey(s.app_id, s.device_id), s]));
  const byId = new Map(model.winners.map((e) => [dedupKey(e), e]));
  const lookback = lookbackMs(model.settings, appId);
  const clicks = model.winners.filter((e) => e.type === 'click' && e.app_id === appId);
  const clicksOf = (i: ArchivedEvent) =>
    clicks.filter((c) => c.ts <= i.ts && i.ts - c.ts <= lookback && (c.device_id === i.device_id || (i.ip !== '' && i.ua !== '' && c.ip === i.ip && c.ua === i.ua)));
  const out: DecisionComparison = { equal: 0, explained: { click_arrived_after_install: 0, click_in_other_partition: 0, earlier_install_arrived_later: 0 }, unexplained: [] };
  for (const d of model.attribution.firstInstalls.values()) {
    if (d.app_id !== appId) continue;
    const s = streamByDevice.get(deviceKey(appId, d.device_id));
    const same = s && s.install_event_id === d.install_event_id && s.outcome === d.outcome && s.click_event_id === d.click_event_id && s.channel === d.channel && s.fraud_reason === d.fraud_reason;
    if (same) {
      out.equal++;
      continue;
    }
    const install = byId.get(dedupKey({ app_id: appId, event_id: d.install_event_id })) as ArchivedEvent;
    const click = d.click_event_id ? byId.get(dedupKey({ app_id: appId, event_id: d.click_event_id })) : undefined;
    const devInstalls = model.winners.filter((e) => e.type === 'install' && e.app_id === appId && e.device_id === d.device_id);
    if (s && s.install_event_id !== d.install_event_id && devInstalls.some((e) => e.event_id === s.install_event_id && arrivedBefore(e, install))) {
      out.explained.earlier_install_arrived_later++;
    } else if (click && click.kafka_partition !== install.kafka_partition) {
      // Found only if the other partition had written the click when the install was decided.
      out.explained.click_in_other_partition++;
    } else if (clicksOf(install).some((c) => arrivedBefore(install, c))) {
      // A click that could decide this install (as winner or as one of the flood) came later.
      out.explained.click_arrived_after_install++;
    } else {
      out.unexplained.push({ reference: d, stream: s });
    }
  }
  return out;
}

/**
 * The stream's arrival order: a partition's offset order (two requests received 50 ms apart
 * may reach Kafka in the other order); across partitions, receive time.
 */
export function arrivedBefore(a: ArchivedEvent, b: ArchivedEvent): boolean {
  return a.kafka_partition === b.kafka_partition ? a.kafka_offset < b.kafka_offset : a.received_at < b.received_at;
}

/**
 * The reference model as the speed views see the same messages, so that `referenceReport`
 * over it gives what the speed views must answer:
 * - the first copy of an event in offset order counts (the stream's duplicate filter);
 * - first installs are the stream's `decisions`; every other install is a reinstall;
 * - an event inherits its device's first install only when that install arrived before it
 *   (a decision not yet made cannot be inherited, and counts are not revised afterwards).
 */
export function streamViewModel(model: ReferenceModel, events: readonly ArchivedEvent[], decisions: readonly InstallDecision[]): ReferenceModel {
  const first = new Map<string, ArchivedEvent>();
  for (const e of events) {
    const cur = first.get(dedupKey(e));
    if (!cur || arrivedBefore(e, cur)) first.set(dedupKey(e), e);
  }
  const winners = [...first.values()];
  const firstInstalls = new Map(decisions.map((d) => [deviceKey(d.app_id, d.device_id), d]));
  const attribution = { firstInstalls, reinstalls: new Set<string>() };
  const installOf = new Map<string, ArchivedEvent>();
  for (const e of winners) {
    if (e.type !== 'install') continue;
    if (firstInstalls.get(deviceKey(e.app_id, e.device_id))?.install_event_id === e.event_id) installOf.set(deviceKey(e.app_id, e.device_id), e);
    else attribution.reinstalls.add(dedupKey(e));
  }
  const dimensions = winners.map((e) => {
    const dims = eventDimensions(e, attribution);
    const install = installOf.get(deviceKey(e.app_id, e.device_id));
    const inherits = e.type !== 'impression' && e.type !== 'click' && install !== undefined && install !== e;
    return inherits && arrivedBefore(e, install) ? { ...dims, channel: '', campaign_id: '' } : dims;
  });
  const firstInstallOf = (e: ArchivedEvent) => (installOf.get(deviceKey(e.app_id, e.device_id)) === e ? firstInstalls.get(deviceKey(e.app_id, e.device_id)) : undefined);
  return { settings: model.settings, winners, duplicates: events.length - winners.length, attribution, dimensions, firstInstallOf };
}
