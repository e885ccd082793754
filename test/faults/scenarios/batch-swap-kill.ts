/**
 * SIGKILL of the batch process in the middle of a run's swap: some of its days' partitions
 * attached to the views, not every day switched to it yet. Watched from outside through
 * ClickHouse's system tables: once a partition of the run appears the process is frozen
 * (SIGSTOP), the state checked, and the process killed; when the run had already finished
 * switching, it is let go and another run is tried.
 */
import type { Run } from '../../../batch-layer/run-types';
import { createClickHouse, queryRows } from '../../../infra/clickhouse/client';
import { adminRequest } from '../../support/test-stack';
import { waitFor } from '../../support/wait-for';
import { isoDay, DAY_MS } from '../measure';
import type { Scenario, ScenarioContext } from '../scenario';

const ATTEMPTS = 4;

async function killMidSwap(ctx: ScenarioContext): Promise<void> {
  const { d } = ctx;
  if (!d.clickhouse) throw new Error('the batch swap scenario needs the roles topology (a ClickHouse server)');
  const ch = createClickHouse({ clickhouse: d.clickhouse, dataDir: d.dir });
  const admin = () => ({ url: d.batchUrl(), adminToken: d.adminToken });
  try {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const run = await waitFor(async () => {
        const r = await adminRequest(admin(), 'POST', '/v1/admin/batch/runs', { day: isoDay(ctx.span.to - DAY_MS) });
        return r.status === 202 ? (r.json.run as Run) : undefined;
      }, { timeoutMs: 120_000, intervalMs: 500, what: 'a batch run accepted' });
      const attached = () =>
        queryRows<{ n: string }>(
          ch.client,
          `SELECT count() AS n FROM system.parts WHERE database = currentDatabase() AND active
             AND table IN ('hourly_batch_data', 'attributions_batch_data') AND position(partition, {run:String}) > 0`,
          { run: run.id },
        );
      const finished = async () => ['succeeded', 'failed'].includes((await adminRequest(admin(), 'GET', `/v1/admin/batch/runs/${run.id}`)).json.status);
      let polls = 0;
      const seen = await waitFor(async () => {
        if (Number((await attached())[0].n) > 0) return 'attached';
        return ++polls % 50 === 0 && (await finished()) ? 'finished' : undefined;
      }, { timeoutMs: 300_000, intervalMs: 5, what: `run ${run.id} attaching its partitions` });
      if (seen === 'attached') {
        d.signal('batch', 'SIGSTOP');
        const [{ n }] = await attached();
        const [{ switched }] = await queryRows<{ switched: string }>(ch.client, 'SELECT count() AS switched FROM batch_current_runs WHERE run_id = {run:String}', { run: run.id });
        if (Number(switched) < run.days.length) {
          ctx.note(`killed mid-swap on attempt ${attempt}: ${n} parts of run ${run.id} attached, ${switched} of ${run.days.length} days switched to it`);
          await d.kill('batch');
          ctx.ended();
          await d.restart('batch');
          return;
        }
        d.signal('batch', 'SIGCONT');
      }
      await waitFor(finished, { timeoutMs: 300_000, intervalMs: 250, what: `run ${run.id} finished` });
    }
    throw new Error(`no run was caught in its swap in ${ATTEMPTS} attempts`);
  } finally {
    await ch.close();
  }
}

export const batchSwapKill: Scenario = {
  name: 'batch-sigkill-mid-swap',
  fault: 'SIGKILL of the batch process during a run, between attaching its partitions and switching every day, restart',
  topology: 'roles',
  cause: killMidSwap,
};
