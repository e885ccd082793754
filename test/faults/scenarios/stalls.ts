/**
 * A consumer process frozen (SIGSTOP) past its session timeout (10 s) while a second process
 * of its group runs: the group drops it and the second takes its partitions and writes them;
 * then the first is continued (SIGCONT) and finishes whatever write it was in, late — the
 * lapsed member of issue 17. Nothing may be lost or counted twice.
 */
import { createKafka } from '../../../infra/kafka/local-broker';
import { groupProgress } from '../../support/speed-fixture';
import { waitFor } from '../../support/wait-for';
import type { Scenario, ScenarioContext } from '../scenario';

const freezePastSession = (layer: 'archiver' | 'speed') => async (ctx: ScenarioContext) => {
  const group = `${ctx.d.topics.events}-${layer}`;
  const admin = createKafka(ctx.brokers, 'faults-group-watch').admin();
  await admin.connect();
  try {
    const members = async () => (await admin.describeGroups([group])).groups[0]?.members.length ?? 0;
    await waitFor(async () => (await members()) === 2, { timeoutMs: 60_000, what: `two members in ${group}` });
    ctx.d.signal(layer, 'SIGSTOP');
    const frozenAt = Date.now();
    await waitFor(async () => (await members()) === 1, { timeoutMs: 60_000, intervalMs: 250, what: `${group} dropping the frozen member` });
    const before = (await groupProgress(ctx.d.topics.events, group, ctx.brokers)).committed;
    await waitFor(async () => (await groupProgress(ctx.d.topics.events, group, ctx.brokers)).committed > before, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: `the other ${layer} process writing after the rebalance`,
    });
    ctx.note(`frozen ${((Date.now() - frozenAt) / 1000).toFixed(1)} s; the group dropped it and the other process committed past it before SIGCONT`);
    ctx.d.signal(layer, 'SIGCONT');
  } finally {
    await admin.disconnect();
  }
};

export const stalls: Scenario[] = [
  {
    name: 'archiver-sigstop',
    fault: 'archiver process SIGSTOPped past its session timeout beside a second archiver, then SIGCONT',
    topology: 'roles',
    extra: ['archiver-2'],
    cause: freezePastSession('archiver'),
  },
  {
    name: 'speed-sigstop',
    fault: 'speed process SIGSTOPped past its session timeout beside a second speed process, then SIGCONT',
    topology: 'roles',
    extra: ['speed-2'],
    cause: freezePastSession('speed'),
  },
];
