/**
 * What a scenario counts, each from outside weir: the events topic (a plain kafkajs read),
 * the archive (apache-arrow over the object store), the speed and batch views through the
 * serving API (reports and attributions), and the reference model (test/reference, plain
 * code) computed from the Kafka records, which carry the receive times and positions the rules
 * need.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Run } from '../../batch-layer/run-types';
import type { ArchivedEvent } from '../../schemas/event';
import { DIMENSIONS } from '../../schemas/views';
import { buildReferenceModel, METRICS, referenceAttributions, referenceReport, type AttributionRow, type ReportRow } from '../reference/reports';
import { readArchive } from '../support/archive-reader';
import { groupProgress } from '../support/speed-fixture';
import { adminRequest, topicEvents } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import type { Deployment } from './deployment';

export const DAY_MS = 86_400_000;
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The days a scenario's traffic lies in: `[from, to)`, whole UTC days. */
export interface Span {
  from: number;
  to: number;
}

export interface App {
  appId: string;
  writeKey: string;
  readKey: string;
}

/** Committed offsets of the archiver's and the speed layer's groups, behind the end of the topic. */
export async function consumerLag(d: Deployment, brokers: string[]): Promise<{ archiver: number; speed: number }> {
  const lagOf = async (role: string) => {
    const g = await groupProgress(d.topics.events, `${d.topics.events}-${role}`, brokers);
    return g.end - g.committed;
  };
  return { archiver: await lagOf('archiver'), speed: await lagOf('speed') };
}

export async function waitForConsumers(d: Deployment, brokers: string[], timeoutMs: number): Promise<void> {
  await waitFor(async () => {
    const lag = await consumerLag(d, brokers);
    return lag.archiver <= 0 && lag.speed <= 0;
  }, { timeoutMs, intervalMs: 500, what: 'the archiver and the speed layer to commit the whole topic' });
}

async function report(d: Deployment, app: App, granularity: 'daily' | 'hourly', span: Span, params: Record<string, string>): Promise<(ReportRow & { source: string })[]> {
  const q = new URLSearchParams({ from: isoDay(span.from), to: isoDay(span.to), ...params });
  const res = await fetch(`${d.servingUrl()}/v1/apps/${app.appId}/reports/${granularity}?${q}`, {
    headers: { authorization: `Bearer ${app.readKey}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`${granularity} report: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { rows: (ReportRow & { source: string })[] }).rows;
}

/** Events in the views for the span, and which sources answered. */
export async function viewEvents(d: Deployment, app: App, span: Span): Promise<{ events: number; sources: string[] }> {
  const rows = await report(d, app, 'daily', span, { metrics: 'events' });
  return { events: rows.reduce((a, r) => a + Number(r.events), 0), sources: [...new Set(rows.map((r) => r.source))] };
}

/** Requests a batch run of `day` (again while an earlier run's days overlap: 409) and waits until it ends. */
export async function runBatch(d: Deployment, day: string, timeoutMs: number): Promise<Run> {
  const admin = () => ({ url: d.batchUrl(), adminToken: d.adminToken });
  const id = await waitFor(async () => {
    const r = await adminRequest(admin(), 'POST', '/v1/admin/batch/runs', { day });
    if (r.status === 202) return (r.json.run as Run).id;
    if (r.status !== 409) throw new Error(`batch run of ${day} refused: ${r.status} ${JSON.stringify(r.json)}`);
    return undefined;
  }, { timeoutMs, intervalMs: 1000, what: `a batch run of ${day} accepted` });
  return waitFor(async () => {
    const r = await adminRequest(admin(), 'GET', `/v1/admin/batch/runs/${id}`);
    return ['succeeded', 'failed'].includes(r.json.status) ? (r.json as Run) : undefined;
  }, { timeoutMs, intervalMs: 500, what: `batch run ${id}` });
}

export interface Measured {
  kafkaRecords: number;
  archiveRecords: number;
  speedEvents: number;
  /** Undefined when no batch run covered the days (a refusal). */
  batchEvents?: number;
  /** Events the views should count: the winning copies in Kafka (the reference's). */
  expectedEvents: number;
  lost: number;
  countedTwice: number;
  batchEqualReference?: boolean;
  /** Where a loss or a double count was seen, for the notes. */
  findings: string[];
}

/**
 * Everything after recovery. `speedEvents` was read before the batch run (once batch covers
 * the days the reports answer from batch). `referenceFrom`: the records the views should
 * show — the Kafka topic, or the archive when the topic was replaced under weir.
 */
export async function measure(
  d: Deployment,
  o: { app: App; span: Span; acked: ReadonlySet<string>; brokers: string[]; speedEvents: number; referenceFrom?: 'kafka' | 'archive'; batch?: boolean },
): Promise<Measured> {
  const kafka = await topicEvents(d.topics.events, o.brokers);
  const archive = await readArchive(d.objectStoreUrl, d.objectStoreEnv);
  const basis = (o.referenceFrom ?? 'kafka') === 'kafka' ? kafka : archive;
  const model = buildReferenceModel(basis);
  const expectedEvents = model.winners.length;

  const batch = o.batch === false ? undefined : await compareBatch(d, o.app, o.span, model);

  const findings: string[] = [];
  const missing = (where: string, have: readonly ArchivedEvent[]) => {
    const ids = new Set(have.map((e) => e.event_id));
    const n = [...o.acked].filter((id) => !ids.has(id)).length;
    if (n) findings.push(`${n} acknowledged events missing from ${where}`);
    return n;
  };
  const lostIn = [
    o.referenceFrom === 'archive' ? 0 : missing('Kafka', kafka),
    missing('the archive', archive),
    deficit(findings, 'the speed views', expectedEvents, o.speedEvents),
    batch ? deficit(findings, 'the batch views', expectedEvents, batch.events) : 0,
  ];
  const unacknowledged = new Set(kafka.map((e) => e.event_id).filter((id) => !o.acked.has(id))).size;
  if (unacknowledged && o.referenceFrom !== 'archive') {
    findings.push(`${unacknowledged} events in Kafka that no 202 acknowledged (requests answered 503 or never answered, whose sends still completed): counted, as a client's retry of them would be once`);
  }
  const positions = new Set(archive.map((e) => `${e.kafka_partition}:${e.kafka_offset}`));
  const twiceIn = [
    surplus(findings, 'the archive (records)', positions.size, archive.length),
    surplus(findings, 'the speed views', expectedEvents, o.speedEvents),
    batch ? surplus(findings, 'the batch views', expectedEvents, batch.events) : 0,
  ];
  if (batch?.notBatch) findings.push(`${batch.notBatch} report rows not answered from batch`);
  if (batch && !batch.equal && !batch.notBatch) findings.push(`batch views differ from the reference (${batch.rows} rows, reference ${batch.referenceRows})`);
  return {
    kafkaRecords: kafka.length,
    archiveRecords: archive.length,
    speedEvents: o.speedEvents,
    batchEvents: batch?.events,
    expectedEvents,
    lost: Math.max(0, ...lostIn),
    countedTwice: Math.max(0, ...twiceIn),
    batchEqualReference: batch?.equal,
    findings,
  };
}

/**
 * The batch views of the span against the reference: the hourly report of every metric by
 * every dimension, and every first install's decision (the attributions route, all pages).
 */
async function compareBatch(d: Deployment, app: App, span: Span, model: ReturnType<typeof buildReferenceModel>) {
  const rows = await report(d, app, 'hourly', span, { metrics: METRICS.join(','), group_by: DIMENSIONS.join(',') });
  const reference = referenceReport({ model, appId: app.appId, granularity: 'hourly', from: span.from, to: span.to, metrics: METRICS, groupBy: DIMENSIONS });
  const installs = await attributions(d, app, span);
  const notBatch = rows.filter((r) => r.source !== 'batch').length + installs.filter((r) => r.source !== 'batch').length;
  return {
    events: rows.reduce((a, r) => a + Number(r.events), 0),
    notBatch,
    equal:
      notBatch === 0 &&
      isDeepStrictEqual(rows.map(({ source: _s, ...r }) => r), reference) &&
      isDeepStrictEqual(installs.map(({ source: _s, ...r }) => r), referenceAttributions({ model, appId: app.appId, from: span.from, to: span.to })),
    rows: rows.length + installs.length,
    referenceRows: reference.length + model.attribution.firstInstalls.size,
  };
}

async function attributions(d: Deployment, app: App, span: Span): Promise<(AttributionRow & { source: string })[]> {
  const rows: (AttributionRow & { source: string })[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ from: isoDay(span.from), to: isoDay(span.to), limit: '1000', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${d.servingUrl()}/v1/apps/${app.appId}/attributions?${q}`, { headers: { authorization: `Bearer ${app.readKey}` }, signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) throw new Error(`attributions: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { rows: (AttributionRow & { source: string })[]; next_cursor: string | null };
    rows.push(...body.rows);
    cursor = body.next_cursor;
  } while (cursor);
  return rows;
}

function deficit(findings: string[], where: string, expected: number, seen: number): number {
  if (seen < expected) findings.push(`${where}: ${seen} events, ${expected} expected`);
  return Math.max(0, expected - seen);
}

function surplus(findings: string[], where: string, expected: number, seen: number): number {
  if (seen > expected) findings.push(`${where}: ${seen}, ${expected} expected`);
  return Math.max(0, seen - expected);
}
