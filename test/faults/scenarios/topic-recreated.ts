/**
 * The events topic deleted and created again under the same name (weir stopped for it, as an
 * operator would, and started again; all-in-one): offsets start again at 0, below the
 * positions the archiver and the speed layer stored. They must refuse to resume, say so in
 * `/ready` and count what they would skip, and nothing must call the traffic's days exact
 * without the events the new topic holds. Its pass is that refusal: the events acknowledged
 * into the new topic are held in Kafka for an operator, not lost; the events before it must
 * all be in the archive and the views.
 */
import { createKafka, ensureTopics } from '../../../infra/kafka/local-broker';
import { metricMax } from '../../support/metrics';
import { waitFor } from '../../support/wait-for';
import { waitForConsumers } from '../measure';
import type { Scenario, ScenarioContext } from '../scenario';

const LAYERS = ['archiver', 'speed'] as const;
const ackedBefore = new WeakMap<ScenarioContext, ReadonlySet<string>>();

async function recreateTopic(ctx: ScenarioContext): Promise<void> {
  const { d, brokers } = ctx;
  const topic = d.topics.events;
  await ctx.traffic.pause();
  await waitForConsumers(d, brokers, 120_000);
  ackedBefore.set(ctx, new Set(ctx.traffic.acked));
  const code = await d.proc('all').stop('SIGTERM');
  if (code !== 0) ctx.note(`weir exited with ${code} on SIGTERM`);
  const admin = createKafka(brokers, 'faults-recreate').admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
    await waitFor(async () => !(await admin.listTopics()).includes(topic), { what: 'the topic deleted' });
  } finally {
    await admin.disconnect();
  }
  await waitFor(async () => (await ensureTopics(brokers, [{ topic, numPartitions: 4 }]), true), { timeoutMs: 60_000, what: 'the topic created again' });
  await d.restart('all');
  ctx.traffic.resume();
}

async function refusal(ctx: ScenarioContext): Promise<{ outcome: string; acked: ReadonlySet<string>; held: number }> {
  const before = ackedBefore.get(ctx) ?? new Set<string>();
  const says: string[] = [];
  const url = ctx.d.proc('all').url;
  for (const name of LAYERS) {
    const check = await waitFor(
      async () => {
        const res = await fetch(`${url}/ready`);
        const body = (await res.json()) as { checks?: Record<string, string> };
        const c = body.checks?.[name] ?? '';
        return res.status === 503 && /refusing to resume/.test(c) ? c : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `${name} /ready saying it refuses to resume` },
    );
    const skipped = await metricMax(url, `weir_${name}_refused_skipped_messages`);
    says.push(`${name} (would skip ${skipped})`);
    ctx.note(`${name} /ready 503: ${check.split(';')[0]}`);
  }
  const held = ctx.traffic.acked.size - before.size;
  return { outcome: `refused: ${says.join(', ')}; ${held} acknowledged into the new topic held in Kafka`, acked: before, held };
}

export const topicRecreated: Scenario = {
  name: 'topic-recreated',
  fault: 'events topic deleted and created again (consumers stopped for it), traffic into the new topic',
  topology: 'all-in-one',
  short: true,
  cause: recreateTopic,
  refusal,
};
