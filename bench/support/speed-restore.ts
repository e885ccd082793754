/**
 * The speed bench's restore phase: a speed-layer process holding `days` days of state is
 * SIGKILLed and started again on its data directory and consumer group, as a supervisor
 * would; how long until it writes a flush group again, and how much memory the new process
 * takes meanwhile.
 *
 * Black box, so that it holds for any design behind `startSpeedLayer` (the layer's state is
 * being moved into ClickHouse):
 * 1. `days × eventsPerDay` events whose event times span the last `days` days (the
 *    generator over that span: the devices, installs and clicks grow with the days) into
 *    topics of their own; a speed-layer process on a fresh data dir and group consumes them
 *    until every partition is committed to the end (that time is printed, not a figure).
 * 2. The group's members are read from the broker, the process is SIGKILLed while idle (t0)
 *    and a new one started at once on the same dir and group; `freshEvents` new events are
 *    produced meanwhile, so that there is something to write.
 * 3. restore = t0 → the `at` of the first `speed_progress` row written after t0 (the first
 *    flush group whose views are written). Beside it, read from the outside: when the new
 *    process had its engine open and migrated (ready), and when the broker had the group
 *    stable without the killed member (rejoined; the killed member's session timeout makes
 *    most of that, kafkajs having no static membership). Peak RSS: the new process's
 *    `VmHWM` once that group is written.
 * 4. With `kills` > 1, the new process is killed the same way once it has committed the new
 *    events, and so on; the figures are those of the kill of median restore time.
 */
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { ensureTopics } from '../../infra/kafka/local-broker';
import { topicNames } from '../../schemas/topics';
import { peakRssMb, stopChild, type BenchChild, type ChildMessage } from './child';
import { committedOffsets } from './committed-offsets';
import { forkSpeedLayer } from './speed-layer-child';
import type { SpeedLayerInit } from './speed-layer-process';
import { preloadTopic } from './speed-data';

export interface RestoreSetup {
  admin: Admin;
  brokers: string[];
  partitions: number;
  /** Topic prefix of the run; each restore adds its own. */
  prefix: string;
  /** Where the speed-layer processes keep their data dirs. */
  dir: string;
  appId: string;
  seed: number;
  sendSize: number;
  eventsPerDay: number;
  freshEvents: number;
  /** SIGKILLs per state: each restarted process is killed again once idle; the figures are the median kill's. */
  kills: number;
  timeoutS: number;
}

export interface RestoreFigures {
  days: number;
  /** Events of state consumed before the kill. */
  events: number;
  /** How long the first process took to consume them (context, not a figure). */
  consumeS: number;
  /** SIGKILL → the first flush group written by the new process. */
  restoreS: number;
  /** SIGKILL → the new process's engine open and migrated. */
  readyS: number;
  /** SIGKILL → the group stable without the killed member. */
  rejoinedS: number;
  /** The new process's peak RSS when that group was written. */
  rssMb: number;
  /** The peak RSS of the process that consumed the state (killed first). */
  killedRssMb: number;
  kills: number;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function measureRestore(s: RestoreSetup, days: number): Promise<RestoreFigures> {
  const prefix = `${s.prefix}r${days}d-`;
  const topics = topicNames(prefix);
  await ensureTopics(s.brokers, [
    { topic: topics.events, numPartitions: s.partitions },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.attributions, numPartitions: s.partitions },
  ]);
  const offsets = committedOffsets(s.admin, topics.events, s.timeoutS);
  const events = await preloadTopic(s.brokers, { topic: topics.events, appId: s.appId, seed: s.seed + days, events: days * s.eventsPerDay, sendSize: s.sendSize, days });
  const init = { brokers: s.brokers, prefix, partitions: s.partitions, dataDir: path.join(s.dir, `restore-${days}d`), groupId: `${prefix}speed` };

  let live = await forkSpeedLayer(`speed layer (${days} d of state)`, init);
  try {
    const t0 = performance.now();
    live.send({ type: 'go' });
    await live.next('started', 120_000);
    const consumeMs = await offsets.waitCommitted(init.groupId, events, t0, live.exited);
    if (Number.isNaN(consumeMs)) await live.next('never'); // rejects with the child's failure
    const killedRssMb = peakRssMb(live.pid);
    const kills: Kill[] = [];
    for (let k = 0; k < s.kills; k++) {
      if (k > 0) {
        // The restarted process has written the fresh events; once it has committed them all it is idle again.
        const end = await offsets.topicEnd();
        if (Number.isNaN(await offsets.waitCommitted(init.groupId, end, performance.now(), live.exited))) await live.next('never');
      }
      const kill = await killAndRestart(s, live, init, topics.events, s.seed + 7919 * days + k);
      live = kill.child;
      kills.push(kill);
    }
    // The kill of median restore time, with its own breakdown and RSS.
    const median = [...kills].sort((a, b) => a.restoreS - b.restoreS)[Math.floor((kills.length - 1) / 2)];
    return { days, events, consumeS: consumeMs / 1000, restoreS: median.restoreS, readyS: median.readyS, rejoinedS: median.rejoinedS, rssMb: median.rssMb, killedRssMb, kills: kills.length };
  } finally {
    await stopChild(live);
  }
}

interface Kill {
  /** The restarted process, live. */
  child: BenchChild;
  restoreS: number;
  readyS: number;
  rejoinedS: number;
  rssMb: number;
}

/** SIGKILLs `victim` while idle, starts a new process on its dir and group, produces a few events, and times the restart. */
async function killAndRestart(s: RestoreSetup, victim: BenchChild, init: Omit<SpeedLayerInit, 'type'>, topic: string, seed: number): Promise<Kill> {
  const killed = new Set((await s.admin.describeGroups([init.groupId])).groups[0]?.members.map((m) => m.memberId));
  const killedAt = Date.now();
  const k0 = performance.now();
  await victim.crash();
  const rejoined = waitRejoined(s.admin, init.groupId, killed, k0, s.timeoutS);
  rejoined.catch(() => undefined); // awaited below; a failure before that must not go unhandled
  const [child] = await Promise.all([
    forkSpeedLayer(`${victim.name.replace(/, restarted$/, '')}, restarted`, init),
    preloadTopic(s.brokers, { topic, appId: s.appId, seed, events: s.freshEvents, sendSize: s.freshEvents }),
  ]);
  const readyMs = performance.now() - k0;
  child.send({ type: 'go' });
  await child.next('started', 120_000);
  child.send({ type: 'group-written-since', sinceMs: killedAt });
  const written = await child.next<ChildMessage & { atMs: number }>('group-written', s.timeoutS * 1000);
  return { child, restoreS: (written.atMs - killedAt) / 1000, readyS: readyMs / 1000, rejoinedS: (await rejoined) / 1000, rssMb: peakRssMb(child.pid) };
}

/** Ms from `t0` until the broker has the group stable with members, none of them `killed`. */
async function waitRejoined(admin: Admin, groupId: string, killed: Set<string>, t0: number, timeoutS: number): Promise<number> {
  for (;;) {
    const g = (await admin.describeGroups([groupId])).groups[0];
    if (g?.state === 'Stable' && g.members.length > 0 && g.members.every((m) => !killed.has(m.memberId))) return performance.now() - t0;
    if (performance.now() - t0 > timeoutS * 1000) throw new Error(`group ${groupId} not stable without its killed member in ${timeoutS} s`);
    await delay(50);
  }
}
