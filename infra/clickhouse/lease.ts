/**
 * One holder at a time across processes (one batch run, one migrating process): a lease in
 * ClickHouse (the store every such process already shares; the object store has no
 * conditional write to build one on).
 *
 * ClickHouse has no compare-and-set, so the lease is decided by order: a contender inserts a
 * claim stamped with the *server's* clock (`claimed_at`) and an expiry, waits `settleMs` (so
 * that any claim stamped before its own has been committed: inserts take milliseconds, the
 * settle time is a second), then reads the live claims. The earliest live claim holds the
 * lease; the others withdraw theirs and try again later. The holder renews its expiry every
 * `ttlMs / 3`; a crashed holder's claim expires after `ttlMs`, and then the next contender
 * wins. Like every lease it assumes the holder is not frozen for longer than `ttlMs` (a run
 * checks `stillHeld()` right before it swaps the views).
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from './client';

/** Tables of lease claims (`CLAIMS_DDL`), an allow-list since the name goes into the SQL. */
export type LeaseTable = 'batch_lease' | '_migrations_lock';

/**
 * The claims table's columns and engine. migrations/003-batch.sql created `batch_lease` with
 * the same text; an applied migration never changes, so the copy there stays as it is.
 */
export const CLAIMS_DDL = `(
  name LowCardinality(String),
  token String,
  holder String,
  claimed_at DateTime64(6, 'UTC'),
  expires_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (name, token)`;

export interface LeaseOptions {
  /** Default `batch_lease`. */
  table?: LeaseTable;
  name?: string;
  holder: string;
  ttlMs?: number;
  settleMs?: number;
  retryMs?: number;
}

export interface HeldLease {
  /** True while this claim is still the earliest live one. */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

export interface RunLease {
  /** Waits until the lease is ours; rejects when `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<HeldLease>;
}

export function createLease(ch: ClickHouseClient, opts: LeaseOptions): RunLease {
  const table = opts.table ?? 'batch_lease';
  const name = opts.name ?? 'batch-run';
  const ttlMs = opts.ttlMs ?? 60_000;
  const settleMs = opts.settleMs ?? 1_000;
  const retryMs = opts.retryMs ?? 2_000;

  // The server stamps times and versions: one clock for every contender. `whileLive`: write
  // only if the claim has not expired, decided in the statement itself (see renew below).
  const write = (token: string, claimedAt: string | null, expiry: 'ttl' | 'now', whileLive = false) =>
    ch.command({
      query: `INSERT INTO ${table} (name, token, holder, claimed_at, expires_at, version)
              SELECT {name:String}, {token:String}, {holder:String},
                     ${claimedAt === null ? 'now64(6)' : '{claimed_at:DateTime64(6)}'},
                     ${expiry === 'ttl' ? 'now64(3) + toIntervalMillisecond({ttl_ms:UInt32})' : 'now64(3)'},
                     toUInt64(toUnixTimestamp64Micro(now64(6)))
              ${whileLive ? `WHERE (SELECT argMax(expires_at, version) FROM ${table} WHERE name = {name:String} AND token = {token:String}) > now64(3)` : ''}`,
      query_params: { name, token, holder: opts.holder, claimed_at: claimedAt, ttl_ms: ttlMs },
    });

  const earliestLive = async () => {
    const rows = await queryRows<{ token: string; claimed_at: string }>(
      ch,
      `SELECT token, toString(claimed_at) AS claimed_at FROM ${table} FINAL
       WHERE name = {name:String} AND expires_at > now64(3) ORDER BY claimed_at, token LIMIT 1`,
      { name },
    );
    return rows[0];
  };

  return {
    async acquire(signal) {
      for (;;) {
        signal?.throwIfAborted();
        const token = randomUUID();
        await write(token, null, 'ttl');
        await delay(settleMs, signal);
        const first = await earliestLive();
        if (first?.token === token) return hold(token, first.claimed_at);
        await write(token, first?.claimed_at ?? null, 'now'); // withdraw: expire our claim
        await delay(retryMs, signal);
      }
    },
  };

  function hold(token: string, claimedAt: string): HeldLease {
    let released = false;
    // A renewal extends the claim only while it is live: a holder that was frozen past its
    // expiry (a long GC, SIGSTOP) must not bring back its claim, whose early `claimed_at` would
    // make it the earliest again while another process holds the lease.
    const renew = setInterval(() => void write(token, claimedAt, 'ttl', true).catch(() => undefined), Math.max(1, Math.floor(ttlMs / 3)));
    renew.unref();
    return {
      async stillHeld() {
        return !released && (await earliestLive())?.token === token;
      },
      async release() {
        if (released) return;
        released = true;
        clearInterval(renew);
        await write(token, claimedAt, 'now');
      },
    };
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
