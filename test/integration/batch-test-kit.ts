/**
 * Shared by the batch layer's integration tests: a chdb data directory (or, on the server
 * path, a database on the ClickHouse harness) and file:// archive for the test file (chdb binds one directory per process: open in beforeAll, close in
 * afterAll), archive writing as the archiver does it, and the batch views read back in the
 * shape of test/reference's answers.
 */
import path from 'node:path';
import { pino } from 'pino';
import { createBatchRunner, type BatchRunner } from '../../batch-layer/batch-runner';
import { createLease } from '../../infra/clickhouse/lease';
import { createRunStore } from '../../batch-layer/run-store';
import { createClickHouse, queryRows, type ClickHouseClient, type ClickHouseHandle } from '../../infra/clickhouse/client';
import { migrate } from '../../infra/clickhouse/migrate';
import { createObjectStore, type ObjectStore } from '../../infra/object-store/object-store';
import { encodeArrowFile } from '../../ingest/archiver/arrow-writer';
import { archiveKey, archiverStateKey, eventDate } from '../../schemas/archive-layout';
import type { ArchivedEvent } from '../../schemas/event';
import { DIMENSIONS, METRICS, METRIC_NAMES } from '../../schemas/views';
import type { AttributionRow, ReportRow } from '../reference/reports';
import { testClickHouse } from '../support/clickhouse-harness-process';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';

export interface BatchTestEnv {
  ch: ClickHouseClient;
  handle: ClickHouseHandle;
  store: ObjectStore;
  dir: string;
  close(): Promise<void>;
}

export async function openBatchTestEnv(): Promise<BatchTestEnv> {
  const dir = makeScratchDir('weir-batch');
  // On the server path (npm run test:server) the harness, in a database of this test's own.
  const handle = createClickHouse({ dataDir: dir, clickhouse: testClickHouse(path.basename(dir).replace(/\W/g, '_')) ?? { url: undefined, database: 'weir' } });
  await handle.ensureDatabase();
  await migrate(handle.client, { lock: handle.kind === 'server' });
  const store = createObjectStore(`file://${path.join(dir, 'archive')}`);
  return {
    ch: handle.client,
    handle,
    store,
    dir,
    close: async () => {
      await handle.close();
      removeScratchDir(dir);
    },
  };
}

export const TEST_GRACE_MINUTES = 15;

export interface TestRunnerOptions {
  /** Names the runner in run records and the lease. */
  owner: string;
  /** The archive it reads (default: the env's). */
  store?: ObjectStore;
  /** The global IP_BLOCKLIST (default none) and LOOKBACK_DAYS (default 7). */
  ipBlocklist?: readonly string[];
  lookbackDays?: number;
  now?: () => number;
}

/** A batch runner on the env's ClickHouse with nothing to wait for: no Kafka, the archive is complete. */
export function createTestRunner(env: BatchTestEnv, opts: TestRunnerOptions): BatchRunner {
  return createBatchRunner(
    { recomputeDays: 2, graceMinutes: TEST_GRACE_MINUTES, ipBlocklist: opts.ipBlocklist ?? [], lookbackDays: opts.lookbackDays ?? 7, horizonDays: 7, catchUpTimeoutMs: 5_000 },
    {
      ch: env.ch,
      store: opts.store ?? env.store,
      runs: createRunStore(env.ch),
      lease: createLease(env.ch, { holder: opts.owner, settleMs: 20, retryMs: 50 }),
      watermarks: async () => ({}),
      owner: opts.owner,
      log: pino({ level: 'silent' }),
      now: opts.now,
    },
  );
}

/** A stored event with every column; '' / 0 for what `o` leaves out. */
export function archived(o: Partial<ArchivedEvent> & Pick<ArchivedEvent, 'event_id' | 'type' | 'ts'>): ArchivedEvent {
  return {
    app_id: 'app1',
    client_ts: o.ts,
    sent_at: 0,
    received_at: o.ts + 1000,
    device_id: 'dev',
    ip: '',
    ua: '',
    os: 'android',
    os_version: '14',
    app_version: '1.0',
    country: 'DE',
    campaign_id: '',
    channel: '',
    name: '',
    revenue_micros: 0,
    currency: '',
    error_type: '',
    error_message: '',
    fingerprint: '',
    properties: '',
    kafka_partition: 0,
    kafka_offset: 0,
    ...o,
  };
}

/**
 * Writes rows as the archiver would: per partition one offset range, one file per event
 * date, then the partition's state `next` past the range. Offsets continue after what the
 * store already holds, unless the rows bring their own (`keepOffsets`).
 */
export async function appendToArchive(store: ObjectStore, rows: readonly ArchivedEvent[], opts: { keepOffsets?: boolean } = {}): Promise<ArchivedEvent[]> {
  const byPartition = new Map<number, ArchivedEvent[]>();
  for (const r of rows) byPartition.set(r.kafka_partition, [...(byPartition.get(r.kafka_partition) ?? []), r]);
  const out: ArchivedEvent[] = [];
  for (const [p, prs] of byPartition) {
    const state = await store.get(archiverStateKey(p));
    let next = state ? (JSON.parse(state.toString()) as { next: number }).next : 0;
    const placed = opts.keepOffsets ? prs : prs.map((r) => ({ ...r, kafka_offset: next++ }));
    const first = Math.min(...placed.map((r) => r.kafka_offset));
    const last = Math.max(...placed.map((r) => r.kafka_offset));
    const byDate = new Map<string, ArchivedEvent[]>();
    for (const r of placed) byDate.set(eventDate(r.ts), [...(byDate.get(eventDate(r.ts)) ?? []), r]);
    for (const [date, drs] of byDate) await store.put(archiveKey(date, p, first, last), encodeArrowFile(drs));
    await store.put(archiverStateKey(p), Buffer.from(JSON.stringify({ next: Math.max(next, last + 1) })));
    out.push(...placed);
  }
  return out;
}

/** hourly_batch of one app as hourly report rows grouped by every dimension, all metrics. */
export async function batchHourlyReport(ch: ClickHouseClient, appId: string, from: number, to: number): Promise<ReportRow[]> {
  const dims = DIMENSIONS.join(', ');
  const metrics = METRIC_NAMES.map((m) => `${METRICS[m]} AS m_${m}`).join(', ');
  const rows = await queryRows<Record<string, string | number>>(
    ch,
    `SELECT toUnixTimestamp(hour) * 1000 AS start, ${dims}, ${metrics} FROM hourly_batch
     WHERE app_id = {app:String} AND hour >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND hour < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     GROUP BY start, ${dims} ORDER BY start, ${dims}`,
    { app: appId, from, to },
  );
  return rows.map((r) => {
    const row: ReportRow = { bucket: new Date(Number(r.start)).toISOString().replace('.000Z', 'Z') };
    for (const d of DIMENSIONS) row[d] = String(r[d]);
    for (const m of METRIC_NAMES) row[m] = m === 'revenue' ? Number(r[`m_${m}`]) / 1e6 : Number(r[`m_${m}`]);
    return row;
  });
}

/** attributions_batch of one app (installs in [from, to) ms) in the reference's row shape, by ts then install_event_id. */
export async function batchAttributions(ch: ClickHouseClient, appId: string, from = 0, to = 8.64e15): Promise<AttributionRow[]> {
  const rows = await queryRows<Record<string, string | number | null>>(
    ch,
    `SELECT install_event_id, device_id, toUnixTimestamp64Milli(ts) AS ts_ms, outcome, match, click_event_id, channel,
            campaign_id, ctit_ms, fraud_reason
     FROM attributions_batch
     WHERE app_id = {app:String} AND toUnixTimestamp64Milli(ts) >= {from:Int64} AND toUnixTimestamp64Milli(ts) < {to:Int64}
     ORDER BY ts, install_event_id`,
    { app: appId, from, to },
  );
  const orNull = (v: unknown) => (v === '' || v === null ? null : v);
  return rows.map((r) => ({
    install_event_id: String(r.install_event_id),
    device_id: String(r.device_id),
    ts: new Date(Number(r.ts_ms)).toISOString(),
    outcome: r.outcome as AttributionRow['outcome'],
    match: orNull(r.match) as AttributionRow['match'],
    click_event_id: orNull(r.click_event_id) as string | null,
    channel: String(r.channel),
    campaign_id: String(r.campaign_id),
    ctit_ms: r.ctit_ms === null ? null : Number(r.ctit_ms),
    fraud_reason: orNull(r.fraud_reason) as AttributionRow['fraud_reason'],
  }));
}

/** Every row of both batch views, for "nothing changed" comparisons. */
export async function snapshotViews(ch: ClickHouseClient): Promise<unknown[]> {
  return queryRows(
    ch,
    `SELECT * FROM (
       SELECT 'h' AS t, toString(tuple(app_id, hour, type, name, country, os, app_version, currency, error_type, channel,
              campaign_id, fraud_reason, install_kind, sum(events), sum(revenue_micros), uniqExactMerge(uv))) AS r
       FROM hourly_batch
       GROUP BY app_id, hour, type, name, country, os, app_version, currency, error_type, channel, campaign_id, fraud_reason, install_kind
       UNION ALL
       SELECT 'a' AS t, toString(tuple(* EXCEPT decided_at)) AS r FROM attributions_batch
     ) ORDER BY t, r`,
  );
}
