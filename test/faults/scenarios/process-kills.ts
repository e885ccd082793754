/**
 * SIGKILL of a weir process under traffic, then a restart on the same data: the whole
 * all-in-one process, and each role process of the one-process-per-role deployment.
 */
import { waitFor } from '../../support/wait-for';
import type { Scenario, ScenarioContext } from '../scenario';

/** Kills a process at a moment of the traffic, and starts it again (the fault ends at the restart). */
const killAndRestart = (name: string) => async (ctx: ScenarioContext) => {
  await ctx.d.kill(name);
  ctx.ended();
  await ctx.d.restart(name);
};

export const processKills: Scenario[] = [
  {
    name: 'all-in-one-sigkill',
    fault: 'SIGKILL of the whole process (every role, embedded ClickHouse) under traffic, restart',
    topology: 'all-in-one',
    short: true,
    cause: killAndRestart('all'),
  },
  {
    name: 'collector-sigkill',
    fault: 'SIGKILL of the ingest process with requests in flight, restart',
    topology: 'roles',
    cause: async (ctx) => {
      await waitFor(() => ctx.traffic.inFlight() > 0, { timeoutMs: 10_000, intervalMs: 1, what: 'a request in flight' });
      ctx.note(`killed with ${ctx.traffic.inFlight()} requests in flight`);
      await killAndRestart('ingest')(ctx);
    },
  },
  {
    name: 'archiver-sigkill',
    fault: 'SIGKILL of the archiver process, restart',
    topology: 'roles',
    cause: killAndRestart('archiver'),
  },
  {
    name: 'speed-sigkill',
    fault: 'SIGKILL of the speed process, restart',
    topology: 'roles',
    cause: killAndRestart('speed'),
  },
];
