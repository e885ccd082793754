/**
 * What the speed layer writes to events_rt for a partition's messages, in plain code (not the
 * rule SQL): the stream's semantics of docs/semantics.md, independent of how messages are
 * batched into flush groups. Per partition, in offset order:
 * - undecodable messages and the types never counted (identify, group, alias) write nothing;
 *   a copy of an (app_id, event_id) already seen writes nothing;
 * - the first install of a device is the first of its installs to arrive; it is decided over
 *   the device's clicks that arrived before it (device match within the lookback, then the
 *   fraud rules: injection, flooding; no blocklists here);
 * - other events inherit the first install decided before them (DESIGN.md section 5).
 * The crash and rebalance tests give installs no `ua`, so no probabilistic match is modelled:
 * the e2e test covers that rule against test/reference.
 */
import type { KafkaMessage } from 'kafkajs';
import { decodeStoredEvent } from '../../schemas/decode-stored-event';
import { isCountedType, type StoredEvent } from '../../schemas/event';
import { compareBytes } from '../reference/byte-order';
import { DAY_MS, FLOODING_MAX_CLICKS, FLOODING_WINDOW_MS, INJECTION_MS } from '../reference/attribution';
import { chText, type EventRtRow } from './events-rt-reference';

interface First {
  ts: number;
  outcome: 'attributed' | 'organic' | 'rejected';
  channel: string;
  campaign_id: string;
}

/** The events_rt rows of one partition's messages (in offset order). */
export function streamRowsOf(partition: number, messages: readonly KafkaMessage[], lookbackDays = 7): EventRtRow[] {
  const seen = new Set<string>();
  const clicks = new Map<string, StoredEvent[]>();
  const firsts = new Map<string, First>();
  const rows: EventRtRow[] = [];
  for (const m of messages) {
    const e = decodeStoredEvent(m.value);
    if (typeof e === 'string' || !isCountedType(e.type)) continue;
    const id = `${e.app_id}\u0000${e.event_id}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const device = `${e.app_id}\u0000${e.device_id}`;
    let dims = { channel: '', campaign_id: '', fraud_reason: '', install_kind: '' };
    if (e.type === 'click' || e.type === 'impression') {
      dims = { ...dims, channel: e.channel, campaign_id: e.campaign_id };
      if (e.type === 'click') clicks.set(device, [...(clicks.get(device) ?? []), e]);
    } else {
      const fi = firsts.get(device);
      if (e.type === 'install' && !fi) {
        const d = decide(e, clicks.get(device) ?? [], lookbackDays * DAY_MS);
        firsts.set(device, d);
        dims = { channel: d.channel, campaign_id: d.campaign_id, fraud_reason: d.fraud_reason, install_kind: d.outcome };
      } else {
        const inherits = fi !== undefined && e.ts >= fi.ts && fi.outcome !== 'rejected';
        dims = { channel: inherits ? fi.channel : '', campaign_id: inherits ? fi.campaign_id : '', fraud_reason: '', install_kind: e.type === 'install' ? 'reinstall' : '' };
      }
    }
    rows.push(row(e, dims, partition, Number(m.offset)));
  }
  return rows;
}

function decide(i: StoredEvent, deviceClicks: readonly StoredEvent[], lookbackMs: number): First & { fraud_reason: string } {
  let click: StoredEvent | undefined;
  for (const c of deviceClicks) {
    if (c.ts > i.ts || i.ts - c.ts > lookbackMs) continue;
    if (!click || c.ts > click.ts || (c.ts === click.ts && compareBytes(c.event_id, click.event_id) > 0)) click = c;
  }
  if (!click) return { ts: i.ts, outcome: 'organic', channel: 'organic', campaign_id: '', fraud_reason: '' };
  const flooding = deviceClicks.filter((c) => c.ts <= i.ts && c.ts >= i.ts - FLOODING_WINDOW_MS).length;
  const fraud = i.ts - click.ts < INJECTION_MS ? 'click_injection' : flooding > FLOODING_MAX_CLICKS ? 'click_flooding' : '';
  return { ts: i.ts, outcome: fraud ? 'rejected' : 'attributed', channel: click.channel, campaign_id: click.campaign_id, fraud_reason: fraud };
}

function row(e: StoredEvent, d: { channel: string; campaign_id: string; fraud_reason: string; install_kind: string }, partition: number, offset: number): EventRtRow {
  return {
    app_id: e.app_id,
    event_id: e.event_id,
    ts: chText(Math.trunc(e.ts)),
    received_at: chText(Math.trunc(e.received_at)),
    device_id: e.device_id,
    type: e.type,
    name: e.type === 'event' ? e.name : '',
    country: e.country,
    os: e.os,
    app_version: e.app_version,
    currency: e.type === 'purchase' ? e.currency : '',
    error_type: e.type === 'error' ? e.error_type : '',
    error_message: e.type === 'error' ? e.error_message : '',
    fingerprint: e.fingerprint,
    ...d,
    revenue_micros: e.type === 'purchase' ? Math.trunc(e.revenue_micros) : 0,
    ip: e.ip,
    ua: e.ua,
    kafka_partition: partition,
    kafka_offset: offset,
  };
}
