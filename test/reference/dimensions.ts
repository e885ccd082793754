/**
 * The derived dimensions of every event (DESIGN.md section 5, "Derived dimensions").
 */
import type { ArchivedEvent } from '../../schemas/event';
import { deviceKey, type AttributionResult } from './attribution';
import { dedupKey } from './dedup';

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
export type EventDimensions = Record<Dimension, string>;

/**
 * Dimensions of one winning event. `attribution` must come from the same winners.
 *
 * channel / campaign_id:
 * - impression, click: their own;
 * - the first install: its winning click's (also when rejected), `organic`/'' when organic;
 * - any other event of the device (reinstalls included) at or after the first install's
 *   time: the first install's when attributed, `organic`/'' when organic, ''/'' when
 *   rejected; ''/'' before it or when the device has no first install.
 */
export function eventDimensions(e: ArchivedEvent, attribution: AttributionResult): EventDimensions {
  let channel = '';
  let campaign = '';
  let fraud = '';
  if (e.type === 'impression' || e.type === 'click') {
    channel = e.channel;
    campaign = e.campaign_id;
  } else {
    const first = attribution.firstInstalls.get(deviceKey(e.app_id, e.device_id));
    if (first && first.install_event_id === e.event_id && e.type === 'install') {
      channel = first.channel;
      campaign = first.campaign_id;
      fraud = first.fraud_reason ?? '';
    } else if (first && e.ts >= first.ts && first.outcome !== 'rejected') {
      channel = first.channel;
      campaign = first.campaign_id;
    }
  }
  return {
    type: e.type,
    name: e.type === 'event' ? e.name : '',
    country: e.country,
    os: e.os,
    app_version: e.app_version,
    currency: e.type === 'purchase' ? e.currency : '',
    error_type: e.type === 'error' ? e.error_type : '',
    channel,
    campaign_id: campaign,
    fraud_reason: fraud,
  };
}

/** Whether an install is a reinstall (not the first install of its device). */
export function isReinstall(e: ArchivedEvent, attribution: AttributionResult): boolean {
  return e.type === 'install' && attribution.reinstalls.has(dedupKey(e));
}
