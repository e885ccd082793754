/**
 * Messages through the speed layer's processors and group commit on a ClickHouse of the
 * test's own, without Kafka: what the consumer would hand them (the rule and scale tests).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { KafkaMessage } from 'kafkajs';
import { appRuleParams } from '../../rules/app-rules';
import { createGroupCommit, type StreamDecision } from '../../speed-layer/group-commit';
import { claimPartition, newClaim } from '../../speed-layer/partition-owners';
import { PartitionProcessor } from '../../speed-layer/partition-processor';
import type { ReferenceSettings } from '../reference/attribution';

export interface StreamRun {
  decisions: StreamDecision[];
  duplicates: number;
  written: number;
}

/**
 * Runs messages through the speed layer's processors and group commit (no Kafka: what the
 * consumer would hand them), `groupSize` messages of each partition per flush group; the
 * partitions of one round are written as one group.
 */
export async function runSpeedGroups(ch: ClickHouseClient, byPartition: Map<number, KafkaMessage[]>, settings: ReferenceSettings = {}, groupSize = Infinity): Promise<StreamRun> {
  const claim = newClaim();
  for (const p of byPartition.keys()) await claimPartition(ch, claim, p);
  const decisions: StreamDecision[] = [];
  const apps = Object.entries(settings.apps ?? {}).map(([app_id, a]) => ({ app_id, lookback_days: a.lookbackDays ?? settings.defaultLookbackDays ?? 7, ip_blocklist: a.ipBlocklist ?? [] }));
  const groups = createGroupCommit({
    ch,
    sendUndecodable: async () => {},
    sendDecisions: async (d) => void decisions.push(...d),
    ruleParams: async () => appRuleParams(apps, { lookbackDays: settings.defaultLookbackDays ?? 7, ipBlocklist: settings.globalBlocklist ?? [] }),
    claimOf: () => claim,
  });
  const processors = new Map([...byPartition.keys()].map((p) => [p, new PartitionProcessor(p)]));
  const run: StreamRun = { decisions, duplicates: 0, written: 0 };
  const longest = Math.max(...[...byPartition.values()].map((m) => m.length));
  for (let from = 0; from < longest; from += groupSize) {
    await Promise.all(
      [...byPartition].map(async ([partition, messages]) => {
        const batch = messages.slice(from, from + groupSize);
        if (batch.length === 0) return;
        const p = processors.get(partition) as PartitionProcessor;
        const out = p.process(batch);
        run.duplicates += out.duplicates;
        run.written += out.rows.count;
        await groups.submit({ partition, first: p.viewsFrom, out });
        p.written(Number(batch[batch.length - 1].offset));
      }),
    );
  }
  return run;
}

