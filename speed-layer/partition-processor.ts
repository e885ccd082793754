/**
 * One Kafka partition of the speed layer: decode → deduplicate → decide (attribution,
 * anti-fraud, derived dimensions) → rows for `events_rt` (events-rt-rows.ts) and `attributions_rt`.
 *
 * State is restored from ClickHouse when the partition is (re)assigned: the resume position
 * is the highest offset written to `events_rt` (so it can never run ahead of the write), the
 * clicks inside the windows and the first installs come from the same rows, and the recent
 * event ids refill the duplicate filter. No replay of the topic is needed.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { insertRowSet } from '../infra/clickhouse/row-sets';
import type { KafkaMessage } from 'kafkajs';
import { isCountedType, type StoredEvent } from '../schemas/event';
import { EventsRtRows, wellFormed } from './events-rt-rows';
import { ForgottenIds } from './forgotten-ids';
import { RecentIds } from './recent-ids';
import { decodeStoredEvent } from '../schemas/decode-stored-event';
import { AttributionState, clickStateSpanMs, ipUaKey, PROBABILISTIC_WINDOW_MS, type AppRules, type ClickRef, type ForeignClicks, type Decision, type Outcome } from './attribution/attribution-state';
import { deriveDimensions } from './realtime-views/derive-dimensions';
import { redoUnapplied } from './group-commit';
import { ResumeRefusedError } from '../infra/kafka/refused-partitions';
import { viewsThrough } from './realtime-views/views-writer';

export interface AttributionRow {
  app_id: string;
  install_event_id: string;
  device_id: string;
  ts: string;
  outcome: Outcome;
  match: string;
  click_event_id: string;
  channel: string;
  campaign_id: string;
  ctit_ms: number | null;
  fraud_reason: string;
  decided_at: string;
}

export interface BatchOutcome {
  rows: EventsRtRows;
  attributions: AttributionRow[];
  duplicates: number;
  /** Probably copies of an id the dedup window forgot: counted in the views again (forgotten-ids.ts). */
  forgottenCopies: number;
  lateClicks: number;
  skipped: number;
  undecodable: { offset: number; reason: string }[];
  /** Fraud rejections by channel and reason, for the live counter. */
  rejections: { channel: string; reason: string }[];
}

/** How the collector's JSON spells an install (its key order is fixed): a cheap pre-filter. */
const INSTALL_MARK = Buffer.from('"type":"install"');

/** Recent `(app_id, event_id)` kept per partition to recognise client retries. */
const DEDUP_CAPACITY = 500_000;
/** The ids forgotten by the window, approximately: 1–2 M more per partition, 2 × 2.4 MB at most. */
const FORGOTTEN_PER_GENERATION = 1_000_000;
const FORGOTTEN_FALSE_POSITIVE_RATE = 1e-4;

const chTimeSlow = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

/** Year 10000: past it toISOString writes six-digit years; the fast path covers 1970–9999 only. */
const FAST_LIMIT_MS = 253_402_300_800_000;
const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
/** Date parts `YYYY-MM-DD ` by day number. A row's ts and received_at often fall on different days, so one cached day thrashed. */
const dayPrefixes = new Map<number, string>();

/**
 * `YYYY-MM-DD hh:mm:ss.mmm` (UTC), as `toISOString` gives it. Two per row on the hot path:
 * the date part is cached per day and the time of day computed, same output as chTimeSlow.
 */
export function chTime(ms: number): string {
  if (!(Number.isInteger(ms) && ms >= 0 && ms < FAST_LIMIT_MS)) return chTimeSlow(ms);
  const day = Math.floor(ms / 86_400_000);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= 4096) dayPrefixes.clear();
    prefix = chTimeSlow(day * 86_400_000).slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rem = ms - day * 86_400_000;
  const h = Math.floor(rem / 3_600_000);
  rem -= h * 3_600_000;
  const m = Math.floor(rem / 60_000);
  rem -= m * 60_000;
  const sec = Math.floor(rem / 1000);
  const milli = rem - sec * 1000;
  return `${prefix}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : milli}`;
}

export class PartitionProcessor {
  private readonly state: AttributionState;
  private readonly seen = new RecentIds(DEDUP_CAPACITY, new ForgottenIds(FORGOTTEN_PER_GENERATION, FORGOTTEN_FALSE_POSITIVE_RATE));
  /** First offset not yet written to events_rt. */
  private next = 0;
  /** Last offset of events_rt applied to the views (-1: none). */
  private viewsThrough = -1;
  /** The topic id the rows in events_rt belong to, and the topic's id now (set by restore). */
  private rowsTopicId = '';
  private topicId = '';

  constructor(
    readonly partition: number,
    private readonly rulesFor: (appId: string) => AppRules,
    /** The longest lookback of any app now (it grows when an app's does). */
    private readonly maxLookbackMs: () => number,
  ) {
    this.state = new AttributionState(maxLookbackMs);
  }

  /** See AttributionState.ipClickHorizon. */
  get ipClickHorizon(): number {
    return this.state.ipClickHorizon;
  }

  /** Clicks this partition holds from one ip and ua (by `ipUaKey`): see foreignClicksFor. */
  clicksByIpUa(key: string): readonly ClickRef[] | undefined {
    return this.state.clicksByIpUa(key);
  }

  get stateSize(): { clicks: number; firstInstalls: number; recentIds: number } {
    return { ...this.state.size, recentIds: this.seen.size };
  }

  /** `topicId`: the topic's id now (see checkResume). */
  async restore(ch: ClickHouseClient, topicId: string): Promise<void> {
    const p = { p: this.partition };
    this.viewsThrough = await viewsThrough(ch, this.partition);
    const [pos] = await rows<{ o: string; n: string; newest: string }>(
      ch,
      `SELECT max(kafka_offset) AS o, count() AS n, toUnixTimestamp64Milli(max(ts)) AS newest
       FROM events_rt WHERE kafka_partition = {p:UInt16}`,
      p,
    );
    const hasRows = pos !== undefined && Number(pos.n) > 0;
    this.topicId = topicId;
    this.rowsTopicId = await this.recordedTopicId(ch, hasRows);
    if (!hasRows) return;
    this.next = Number(pos.o) + 1;
    // Rows written but not yet in the views (a crash between the two): apply their group now,
    // under the same tokens as the interrupted attempt.
    this.viewsThrough = await redoUnapplied(ch, this.partition, this.viewsThrough);
    const since = Number(pos.newest) - clickStateSpanMs(this.maxLookbackMs());
    const clicks = await rows<{ app_id: string; device_id: string; event_id: string; ts_ms: string; ip: string; ua: string; channel: string; campaign_id: string }>(
      ch,
      // ts_ms, not ts: a SELECT alias is visible in WHERE and would shadow the column there.
      `SELECT app_id, device_id, event_id, toUnixTimestamp64Milli(ts) AS ts_ms, ip, ua, channel, campaign_id
       FROM events_rt WHERE kafka_partition = {p:UInt16} AND type = 'click' AND ts >= fromUnixTimestamp64Milli({since:Int64})`,
      { ...p, since },
    );
    for (const c of clicks) {
      this.state.addClick(c.app_id, c.device_id, c.ua, { event_id: c.event_id, ts: Number(c.ts_ms), ip: c.ip, channel: c.channel, campaign_id: c.campaign_id });
    }
    const installs = await rows<{ app_id: string; device_id: string; event_id: string; ts_ms: string; install_kind: Outcome; channel: string; campaign_id: string }>(
      ch,
      `SELECT app_id, device_id, event_id, toUnixTimestamp64Milli(ts) AS ts_ms, install_kind, channel, campaign_id
       FROM events_rt WHERE kafka_partition = {p:UInt16} AND install_kind IN ('attributed', 'organic', 'rejected')`,
      p,
    );
    for (const i of installs) {
      this.state.restoreFirstInstall(i.app_id, i.device_id, { event_id: i.event_id, ts: Number(i.ts_ms), outcome: i.install_kind, channel: i.channel, campaign_id: i.campaign_id });
    }
    // The same ids an uninterrupted run would hold: the most recent written, in offset order.
    const recent = await rows<{ app_id: string; event_id: string }>(
      ch,
      `SELECT app_id, event_id FROM events_rt
       WHERE kafka_partition = {p:UInt16}
       ORDER BY kafka_offset DESC LIMIT ${DEDUP_CAPACITY}`,
      p,
    );
    for (const r of recent.reverse()) this.seen.remember(r.app_id, r.event_id);
  }

  /** Decides every message of a batch in offset order; messages below the resume position are skipped. */
  /**
   * Throws when the rows written for this partition cannot be the topic's as it is now: they
   * belong to another topic id (the topic was recreated: offsets from 0 again), or they end past
   * the log's end (truncated). Resuming would skip every message below the old position.
   */
  checkResume(logEnd: number): void {
    if (this.rowsTopicId !== this.topicId) {
      throw this.refused(`its rows in events_rt are of topic id ${this.rowsTopicId}, the topic now has id ${this.topicId} (recreated, or another cluster)`, Math.min(this.next, logEnd));
    }
    if (this.next > logEnd) {
      throw this.refused(`events_rt holds offsets up to ${this.next - 1}, past the end of the log (${logEnd}); the topic was truncated`, logEnd);
    }
  }

  private refused(reason: string, skipped: number): ResumeRefusedError {
    return new ResumeRefusedError(
      this.partition,
      `refusing to resume the speed layer on partition ${this.partition}: ${reason}; ${skipped} messages would be skipped. Remove the partition's rows from events_rt and speed_topic_ids to start it over`,
      skipped,
    );
  }

  /**
   * The topic id recorded for the partition's rows. The current one is recorded when none is
   * (a fresh partition, or rows written before ids were stored: adopted) or when no rows are
   * left to resume from (all expired).
   */
  private async recordedTopicId(ch: ClickHouseClient, hasRows: boolean): Promise<string> {
    const [row] = await rows<{ topic_id: string }>(
      ch,
      `SELECT argMax(topic_id, at) AS topic_id FROM speed_topic_ids WHERE kafka_partition = {p:UInt16}`,
      { p: this.partition },
    );
    const recorded = row?.topic_id ?? '';
    if (recorded !== '' && (recorded === this.topicId || hasRows)) return recorded;
    await ch.insert({ table: 'speed_topic_ids', values: [{ kafka_partition: this.partition, topic_id: this.topicId }], format: 'JSONEachRow' });
    return this.topicId;
  }

  process(messages: KafkaMessage[], now: number, foreign?: ForeignClicks): BatchOutcome {
    const out: BatchOutcome = { rows: new EventsRtRows(), attributions: [], duplicates: 0, forgottenCopies: 0, lateClicks: 0, skipped: 0, undecodable: [], rejections: [] };
    for (const m of messages) {
      const offset = Number(m.offset);
      if (offset < this.next) {
        out.skipped++;
        continue;
      }
      const e = decodeStoredEvent(m.value);
      if (typeof e === 'string') {
        out.undecodable.push({ offset, reason: e });
        continue;
      }
      // identify, group and alias live in the archive only (DESIGN.md section 3a): no row, no
      // view, no duplicate count. Not written, so a restart reads them again and skips them again.
      if (!isCountedType(e.type)) continue;
      const seen = this.seen.remember(e.app_id, e.event_id);
      if (seen === 'duplicate') {
        out.duplicates++;
        continue;
      }
      if (seen === 'forgotten') out.forgottenCopies++;
      const rules = this.rulesFor(e.app_id);
      let decision: Decision | undefined;
      if (e.type === 'click') {
        const click = { event_id: e.event_id, ts: e.ts, ip: e.ip, channel: e.channel, campaign_id: e.campaign_id };
        if (this.state.isLateClick(e.app_id, e.device_id, click, rules.lookbackMs)) out.lateClicks++;
        this.state.addClick(e.app_id, e.device_id, e.ua, click);
      } else if (e.type === 'install') {
        decision = this.state.decideInstall({ app_id: e.app_id, device_id: e.device_id, event_id: e.event_id, ts: e.ts, ip: e.ip, ua: e.ua }, rules, foreign);
        if (decision) {
          out.attributions.push(attributionRow(e, decision, now));
          if (decision.fraud_reason) out.rejections.push({ channel: decision.channel, reason: decision.fraud_reason });
        }
      }
      const dims = deriveDimensions(e, decision, decision ? undefined : this.state.firstInstallOf(e.app_id, e.device_id));
      out.rows.add(m.value as Buffer, e, dims, this.partition, offset);
    }
    return out;
  }

  /**
   * Clicks already written by other partitions that could be the probabilistic match of an
   * install in these messages (same app, ip and ua, within 24 h before it). Only installs that
   * may become a first install are probed; only their messages are parsed here.
   *
   * `siblingsHold(from)`: whether this process holds, in memory, every click of every other
   * partition from `from` on (withSiblingClicks adds them); then nothing written can add to
   * them and the query is skipped. `lookups` counts what was done.
   */
  async foreignClicksFor(
    ch: ClickHouseClient,
    messages: KafkaMessage[],
    siblingsHold: (from: number) => boolean = () => false,
    lookups?: (result: 'queried' | 'held') => void,
  ): Promise<ForeignClicks> {
    const probes = new Map<string, { app: string; ip: string; ua: string }>();
    let from = Infinity;
    let to = -Infinity;
    for (const m of messages) {
      if (Number(m.offset) < this.next || !m.value || m.value.indexOf(INSTALL_MARK) < 0) continue;
      const e = decodeStoredEvent(m.value);
      if (typeof e === 'string' || e.type !== 'install' || !e.ip || !e.ua || this.state.firstInstallOf(e.app_id, e.device_id)) continue;
      probes.set(ipUaKey(e.app_id, e.ip, e.ua), { app: e.app_id, ip: e.ip, ua: e.ua });
      from = Math.min(from, e.ts - PROBABILISTIC_WINDOW_MS);
      to = Math.max(to, e.ts);
    }
    const found = new Map<string, ClickRef[]>();
    if (probes.size === 0) return found;
    if (siblingsHold(from)) {
      lookups?.('held');
      return found;
    }
    lookups?.('queried');
    // The probes go as data (a row set, infra/clickhouse/row-sets.ts: a fetch can probe
    // thousands of installs, and their user agents alone pass a server's 1 MiB URL limit); the
    // primary key (app_id, ip, ua, ts) serves the IN. (One OR-ed equality triple per probe
    // cost ~10× more: ClickHouse analyses every term of the expression.)
    const set = await insertRowSet(ch, 'probes_rt', [...probes.values()].map((x) => ({ app_id: x.app, ip: x.ip, ua: x.ua })));
    const clicks = await rows<{ app_id: string; ip: string; ua: string; event_id: string; ts_ms: string; channel: string; campaign_id: string }>(
      ch,
      `SELECT app_id, ip, ua, event_id, toUnixTimestamp64Milli(ts) AS ts_ms, channel, campaign_id
       FROM clicks_by_ip_ua_rt
       WHERE (app_id, ip, ua) IN (SELECT app_id, ip, ua FROM probes_rt WHERE set_id = {set:String})
         AND kafka_partition != {p:UInt16}
         AND ts BETWEEN fromUnixTimestamp64Milli({from:Int64}) AND fromUnixTimestamp64Milli({to:Int64})`,
      { p: this.partition, from, to, set },
    );
    for (const c of clicks) {
      const k = ipUaKey(c.app_id, c.ip, c.ua);
      const l = found.get(k) ?? [];
      l.push({ event_id: c.event_id, ts: Number(c.ts_ms), ip: c.ip, channel: c.channel, campaign_id: c.campaign_id });
      found.set(k, l);
    }
    return found;
  }

  /** The first offset the views lack: the next range written starts here. */
  get viewsFrom(): number {
    return this.viewsThrough + 1;
  }

  /**
   * Called once a batch is written and applied (group-commit.ts): the resume position moves
   * past its last offset, the views past its last row.
   */
  written(lastOffset: number, lastRowOffset: number | undefined): void {
    this.next = Math.max(this.next, lastOffset + 1);
    if (lastRowOffset !== undefined) this.viewsThrough = Math.max(this.viewsThrough, lastRowOffset);
  }
}

/**
 * What an install of one partition can match in the others: the clicks they wrote (read from
 * the store by foreignClicksFor) and, looked up when the install is decided, the clicks the
 * other partitions of this process hold, decided but perhaps not written yet (the partitions
 * of a fetch are decided together, then written as one group).
 */
export function withSiblingClicks(written: ForeignClicks, self: PartitionProcessor, siblings: () => Iterable<PartitionProcessor>): ForeignClicks {
  return {
    get: (key) => {
      let clicks = written.get(key) ?? [];
      for (const q of siblings()) {
        const held = q === self ? undefined : q.clicksByIpUa(key);
        if (held?.length) clicks = [...clicks, ...held];
      }
      return clicks.length ? clicks : undefined;
    },
  };
}

/** Strings well-formed: ClickHouse refuses a lone surrogate in JSON (see events-rt-rows.ts). */
function attributionRow(e: StoredEvent, d: Decision, now: number): AttributionRow {
  return {
    app_id: wellFormed(e.app_id),
    install_event_id: wellFormed(e.event_id),
    device_id: wellFormed(e.device_id),
    ts: chTime(e.ts),
    outcome: d.outcome,
    match: d.match ?? '',
    click_event_id: wellFormed(d.click_event_id ?? ''),
    channel: wellFormed(d.channel),
    campaign_id: wellFormed(d.campaign_id),
    ctit_ms: d.ctit_ms,
    fraud_reason: d.fraud_reason ?? '',
    decided_at: chTime(now),
  };
}

async function rows<T>(ch: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}
