/**
 * Fencing (issue 16, item 4): which member owns each partition, and the condition every write
 * of a flush group carries. A member claims a partition when a join gives it one it did not
 * hold (a claim id of its own, the epoch one past the partition's last), and keeps its claim
 * of a partition it held and nobody else claimed meanwhile; each INSERT … SELECT of a
 * group writes nothing unless every partition of the group is still claimed by that claim.
 * A member whose session lapsed (frozen past the session timeout, cut off from the broker) and
 * that goes on writing adds nothing once the new owner has claimed the partition, which it
 * does before it reads the partition's position (table speed_owners, migration 017).
 *
 * A statement started before the new claim and still running after the new owner read the
 * position could still land; that window is one statement's time, against a session timeout
 * of seconds before any new owner exists.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from '../infra/clickhouse/client';

/** A member's claim of a partition. */
export interface Claim {
  /** Unique per claim: `<uuid>`. */
  readonly id: string;
}

export const newClaim = (): Claim => ({ id: randomUUID() });

/** Claims a partition for `claim`: its epoch becomes one past the latest. */
export async function claimPartition(ch: ClickHouseClient, claim: Claim, partition: number): Promise<void> {
  const [row] = await queryRows<{ epoch: string }>(ch, 'SELECT max(epoch) AS epoch FROM speed_owners WHERE kafka_partition = {p:UInt16}', { p: partition });
  await ch.insert({ table: 'speed_owners', values: [{ kafka_partition: partition, epoch: Number(row?.epoch ?? 0) + 1, claim: claim.id }], format: 'JSONEachRow' });
}

const CLAIM_ID = /^[0-9a-f-]{36}$/;

/** The claim that owns a partition now (its latest), or undefined when none was made. */
export async function latestClaim(ch: ClickHouseClient, partition: number): Promise<string | undefined> {
  const [row] = await queryRows<{ claim: string; n: string }>(ch, 'SELECT argMax(claim, epoch) AS claim, count() AS n FROM speed_owners WHERE kafka_partition = {p:UInt16}', { p: partition });
  return row && Number(row.n) > 0 ? row.claim : undefined;
}

/**
 * The SQL condition "each of `partitions` is still claimed by its claim (`claimOf`)", with
 * its values written in (partition numbers and claim ids of our own making, both checked): a
 * write statement of the speed layer then needs no query parameter (chDB runs parameterised
 * statements one at a time across the process).
 */
export function fenceSql(claimOf: (partition: number) => Claim, partitions: readonly number[]): string {
  const ps = [...new Set(partitions)];
  if (ps.length === 0 || !ps.every((p) => Number.isInteger(p) && p >= 0 && p < 65536)) throw new Error(`bad partitions ${partitions.join(',')}`);
  const pairs = ps.map((p) => {
    const { id } = claimOf(p);
    if (!CLAIM_ID.test(id)) throw new Error(`bad claim id ${id}`);
    return `(${p}, '${id}')`;
  });
  return `((SELECT count() FROM (SELECT kafka_partition AS p, argMax(claim, epoch) AS latest FROM speed_owners WHERE kafka_partition IN (${ps.join(', ')}) GROUP BY kafka_partition) WHERE (p, latest) IN (${pairs.join(', ')})) = ${ps.length})`;
}
