/**
 * Runs and covered days in ClickHouse (migrations/003-batch.sql). A run row is rewritten
 * whole on every change with a higher version (ReplacingMergeTree, read with FINAL), so
 * every process sees the same runs and the boundary survives restarts.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../infra/clickhouse/client';
import { COVERAGE_TABLE } from '../infra/clickhouse/coverage';
import { boundaryOf } from './days';
import type { Run, RunRecord, RunStatus } from './run-types';

/** A queued or running run whose owner has not heart-beaten for this long is dead. */
export const STALE_AFTER_MS = 60_000;

interface RunRow {
  id: string;
  day: string;
  days: string[];
  status: RunStatus;
  requested_at: number;
  started_at: number | null;
  finished_at: number | null;
  rows_read: number;
  duplicates_dropped: number;
  late_events: number;
  input_files: number;
  error: string;
  attribution_diff: string;
  drift: string;
  watermarks: string;
  owner: string;
  heartbeat_at: number;
}

const SELECT_RUNS = `SELECT id, toString(day) AS day, arrayMap(d -> toString(d), days) AS days, status,
    toUnixTimestamp64Milli(requested_at) AS requested_at, toUnixTimestamp64Milli(started_at) AS started_at,
    toUnixTimestamp64Milli(finished_at) AS finished_at, rows_read, duplicates_dropped, late_events, input_files,
    error, attribution_diff, drift, watermarks, owner, toUnixTimestamp64Milli(heartbeat_at) AS heartbeat_at
  FROM batch_runs FINAL`;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const chTime = (isoTime: string) => isoTime.replace('T', ' ').replace('Z', '');

function fromRow(r: RunRow, now: number): RunRecord {
  const rec: RunRecord = {
    id: r.id,
    day: r.day,
    days: r.days,
    status: r.status,
    requested_at: iso(r.requested_at) as string,
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
    rows_read: Number(r.rows_read),
    duplicates_dropped: Number(r.duplicates_dropped),
    late_events: Number(r.late_events),
    input_files: Number(r.input_files),
    error: r.error === '' ? null : r.error,
    attribution_diff: r.attribution_diff ? JSON.parse(r.attribution_diff) : null,
    drift: r.drift ? JSON.parse(r.drift) : null,
    watermarks: r.watermarks ? JSON.parse(r.watermarks) : {},
    owner: r.owner,
    heartbeat_at: iso(r.heartbeat_at) as string,
  };
  // A dead owner cannot finish its run: report it as failed rather than block its days.
  if ((rec.status === 'queued' || rec.status === 'running') && now - Number(r.heartbeat_at) > STALE_AFTER_MS) {
    rec.status = 'failed';
    rec.error = `abandoned: its process (${rec.owner}) stopped while the run was ${r.status}`;
  }
  return rec;
}

export function publicRun(r: RunRecord): Run {
  const { watermarks: _w, owner: _o, heartbeat_at: _h, ...run } = r;
  return run;
}

export interface RunStore {
  save(run: RunRecord): Promise<void>;
  get(id: string): Promise<RunRecord | undefined>;
  list(limit?: number): Promise<RunRecord[]>;
  /** Queued or running runs whose owners are alive. */
  active(): Promise<RunRecord[]>;
  coveredDays(): Promise<string[]>;
  /** When each covered day was last covered (ms). */
  coveredAt(): Promise<Map<string, number>>;
  boundary(): Promise<{ boundary: string | null; covered_days: string[] }>;
}

export function createRunStore(ch: ClickHouseClient, now: () => number = Date.now): RunStore {
  let lastVersion = 0;
  // Versions must grow for every rewrite of a row by this process, even within one ms.
  const nextVersion = () => (lastVersion = Math.max(lastVersion + 1, now() * 1000));

  return {
    async save(run) {
      await ch.insert({
        table: 'batch_runs',
        format: 'JSONEachRow',
        values: [
          {
            id: run.id,
            day: run.day,
            days: run.days,
            status: run.status,
            requested_at: chTime(run.requested_at),
            started_at: run.started_at && chTime(run.started_at),
            finished_at: run.finished_at && chTime(run.finished_at),
            rows_read: run.rows_read,
            duplicates_dropped: run.duplicates_dropped,
            late_events: run.late_events,
            input_files: run.input_files,
            error: run.error ?? '',
            attribution_diff: run.attribution_diff ? JSON.stringify(run.attribution_diff) : '',
            drift: run.drift ? JSON.stringify(run.drift) : '',
            watermarks: JSON.stringify(run.watermarks),
            owner: run.owner,
            heartbeat_at: chTime(run.heartbeat_at),
            version: nextVersion(),
          },
        ],
      });
    },
    async get(id) {
      const rows = await queryRows<RunRow>(ch, `${SELECT_RUNS} WHERE id = {id:String}`, { id });
      return rows[0] && fromRow(rows[0], now());
    },
    async list(limit = 100) {
      const rows = await queryRows<RunRow>(ch, `${SELECT_RUNS} ORDER BY requested_at DESC, id LIMIT {limit:UInt32}`, { limit });
      return rows.map((r) => fromRow(r, now()));
    },
    async active() {
      const rows = await queryRows<RunRow>(ch, `${SELECT_RUNS} WHERE status IN ('queued', 'running') ORDER BY requested_at`);
      return rows.map((r) => fromRow(r, now())).filter((r) => r.status === 'queued' || r.status === 'running');
    },
    async coveredDays() {
      const rows = await queryRows<{ day: string }>(ch, `SELECT DISTINCT toString(day) AS day FROM ${COVERAGE_TABLE} ORDER BY day`);
      return rows.map((r) => r.day);
    },
    async coveredAt() {
      const rows = await queryRows<{ day: string; at: number }>(
        ch,
        `SELECT toString(day) AS day, toUnixTimestamp64Milli(max(covered_at)) AS at FROM ${COVERAGE_TABLE} GROUP BY day`,
      );
      return new Map(rows.map((r) => [r.day, Number(r.at)]));
    },
    async boundary() {
      const covered_days = await this.coveredDays();
      return { boundary: boundaryOf(covered_days), covered_days };
    },
  };
}
