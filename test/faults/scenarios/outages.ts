/**
 * A component weir depends on goes away and comes back: the Kafka broker (killed, or shut
 * down for 30 s; each on a broker of the scenario's own) and the object store (S3Proxy,
 * 30 s). The fault ends when the component is started again.
 */
import type { OwnBroker } from '../components';
import type { Scenario, ScenarioContext } from '../scenario';

const OUTAGE_MS = 30_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function brokerOf(ctx: ScenarioContext): OwnBroker {
  if (!ctx.ownBroker) throw new Error('a broker fault needs a broker of its own');
  return ctx.ownBroker;
}

export const outages: Scenario[] = [
  {
    name: 'broker-sigkill',
    fault: 'SIGKILL of the Kafka broker under traffic, restart at once (it waits out its old session, ~13 s)',
    topology: 'roles',
    ownBroker: true,
    cause: async (ctx) => {
      await brokerOf(ctx).kill();
      ctx.ended();
      await brokerOf(ctx).start();
    },
  },
  {
    name: 'broker-down-30s',
    fault: 'Kafka broker shut down for 30 s under traffic, then started',
    topology: 'roles',
    ownBroker: true,
    cause: async (ctx) => {
      await brokerOf(ctx).stop();
      await pause(OUTAGE_MS);
      ctx.ended();
      await brokerOf(ctx).start();
    },
  },
  {
    name: 'object-store-down-30s',
    fault: 'S3 (S3Proxy) stopped for 30 s under traffic, then started',
    topology: 'roles',
    cause: async (ctx) => {
      await ctx.c.stopObjectStore();
      await pause(OUTAGE_MS);
      ctx.ended();
      await ctx.c.startObjectStore();
    },
  },
];
