/**
 * Fencing (issue 16, item 4): which member owns each partition, and the condition every write
 * of a flush group carries. A member claims its partitions when it joins the group (a claim id
 * of its own per join, the epoch one past the partition's last); each INSERT … SELECT of a
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

/** A member's claim of the partitions of one join. */
export interface Claim {
  /** Unique per member and join: `<uuid>`. */
  readonly id: string;
}

export const newClaim = (): Claim => ({ id: randomUUID() });

/** Claims a partition for `claim`: its epoch becomes one past the latest. */
export async function claimPartition(ch: ClickHouseClient, claim: Claim, partition: number): Promise<void> {
  const [row] = await queryRows<{ epoch: string }>(ch, 'SELECT max(epoch) AS epoch FROM speed_owners WHERE kafka_partition = {p:UInt16}', { p: partition });
  await ch.insert({ table: 'speed_owners', values: [{ kafka_partition: partition, epoch: Number(row?.epoch ?? 0) + 1, claim: claim.id }], format: 'JSONEachRow' });
}

const CLAIM_ID = /^[0-9a-f-]{36}$/;

/**
 * The SQL condition "each of `partitions` is still claimed by `claim`", with its values
 * written in (partition numbers and a claim id of our own making, both checked): a write
 * statement of the speed layer then needs no query parameter (chDB runs parameterised
 * statements one at a time across the process).
 */
export function fenceSql(claim: Claim, partitions: readonly number[]): string {
  if (!CLAIM_ID.test(claim.id)) throw new Error(`bad claim id ${claim.id}`);
  const ps = [...new Set(partitions)];
  if (ps.length === 0 || !ps.every((p) => Number.isInteger(p) && p >= 0 && p < 65536)) throw new Error(`bad partitions ${partitions.join(',')}`);
  return `((SELECT count() FROM (SELECT argMax(claim, epoch) AS latest FROM speed_owners WHERE kafka_partition IN (${ps.join(', ')}) GROUP BY kafka_partition) WHERE latest = '${claim.id}') = ${ps.length})`;
}
