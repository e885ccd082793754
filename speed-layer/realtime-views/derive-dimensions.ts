/**
 * The derived dimensions of one event (DESIGN.md section 5) that depend on attribution, as the
 * stream knows them. Pure: the caller passes the device's first install as decided so far (or
 * the decision of this very event when it is the first install). The ones that depend only on
 * the event's type (name, currency, error type) are computed where events_rt is written
 * (events-rt-rows.ts).
 */
import type { StoredEvent } from '../../schemas/event';
import type { InstallKind } from '../../schemas/views';
import type { Decision, FirstInstall } from '../attribution/attribution-state';

export interface DerivedDimensions {
  channel: string;
  campaign_id: string;
  fraud_reason: string;
  install_kind: InstallKind;
}

/** Channel and campaign a device's later events inherit from its first install. */
export function inheritedChannel(fi: FirstInstall | undefined, ts: number): { channel: string; campaign_id: string } {
  if (!fi || ts < fi.ts) return { channel: '', campaign_id: '' };
  if (fi.outcome === 'attributed') return { channel: fi.channel, campaign_id: fi.campaign_id };
  if (fi.outcome === 'organic') return { channel: 'organic', campaign_id: '' };
  return { channel: '', campaign_id: '' };
}

/**
 * `decision` is set when `e` is a first install; `firstInstall` is the device's first
 * install otherwise (undefined when none is known).
 */
export function deriveDimensions(e: StoredEvent, decision: Decision | undefined, firstInstall: FirstInstall | undefined): DerivedDimensions {
  // Built as literals of one shape (no spreads): this runs once per event on the hot path.
  if (e.type === 'impression' || e.type === 'click') {
    return { channel: e.channel, campaign_id: e.campaign_id, fraud_reason: '', install_kind: '' };
  }
  if (decision) {
    return {
      channel: decision.channel,
      campaign_id: decision.campaign_id,
      fraud_reason: decision.fraud_reason ?? '',
      install_kind: decision.outcome,
    };
  }
  const inherited = inheritedChannel(firstInstall, e.ts);
  return {
    channel: inherited.channel,
    campaign_id: inherited.campaign_id,
    fraud_reason: '',
    install_kind: e.type === 'install' ? 'reinstall' : '',
  };
}
