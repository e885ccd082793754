/**
 * One fault scenario, from a fresh weir to its row in the table:
 *
 * 1. start the deployment (its topology, its own topics, data and archive), create the app;
 * 2. send traffic through the collector; once 1000 events are acknowledged, cause the fault
 *    (the scenario's `fault`) while the traffic goes on, and end it;
 * 3. keep sending until the collector has acknowledged 300 more events (ingest is back), then
 *    stop; seconds to recover = from the fault's end (a restart begun, a component started
 *    again, a process continued) until the speed views count every acknowledged event and the
 *    archiver and the speed layer have committed the whole topic;
 * 4. read the speed views' total, run batch over the traffic's days (admin API), and count
 *    everything (measure.ts) against the reference model.
 */
import { randomBytes } from 'node:crypto';
import type { Run } from '../../batch-layer/run-types';
import { createTestApp } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import path from 'node:path';
import { startOwnBroker, type OwnBroker, type RunningComponents } from './components';
import { startDeployment, type Deployment, type Topology } from './deployment';
import { DAY_MS, isoDay, measure, runBatch, viewEvents, waitForConsumers, type App, type Measured, type Span } from './measure';
import { startTraffic, type Traffic } from './traffic';

export interface ScenarioContext {
  d: Deployment;
  c: RunningComponents;
  /** The brokers of this scenario (its own broker's, when it has one). */
  brokers: string[];
  ownBroker?: OwnBroker;
  traffic: Traffic;
  app: App;
  span: Span;
  /** A line in the row's notes. */
  note(text: string): void;
  /** Progress on stderr. */
  say(text: string): void;
  /** Marks the moment the fault's cause is removed (default: when `fault` returns). */
  ended(): void;
}

export interface Scenario {
  name: string;
  /** What is done, for the table. */
  fault: string;
  topology: Topology;
  /** Part of the short matrix (`--short`, CI). */
  short?: boolean;
  /** Extra consumer processes (roles topology). */
  extra?: ('archiver-2' | 'speed-2')[];
  /** Environment of the weir processes beyond the defaults. */
  env?: Record<string, string>;
  /** A broker of its own (the broker faults), which it may kill and stop. */
  ownBroker?: boolean;
  /**
   * Prepares what the fault needs before weir starts (a size-limited mount for the embedded
   * ClickHouse), undone after; or says why it cannot be made here (the row then says so, and
   * the scenario is not counted).
   */
  prepare?(c: RunningComponents): Promise<Prepared | { unavailable: string }>;
  /** Causes the fault under traffic and ends it. */
  cause(ctx: ScenarioContext): Promise<void>;
  /**
   * A scenario whose pass is a refusal rather than a recovery (the topic replaced under weir):
   * run after `cause` instead of the recovery wait; answers the outcome, or throws.
   */
  refusal?(ctx: ScenarioContext): Promise<Refusal>;
}

export interface Refusal {
  outcome: string;
  /** The events acknowledged before the fault: these must be everywhere. */
  acked: ReadonlySet<string>;
  /** Acknowledged after it and held back by the refusal (in Kafka, for an operator). */
  held: number;
}

export interface Prepared {
  clickhouseDir: string;
  undo(): Promise<void>;
}

export interface Row extends Partial<Measured> {
  scenario: string;
  fault: string;
  topology: Topology;
  acked: number;
  recoverSeconds?: number;
  /** From requesting the batch run (again while an earlier run's days are taken: 409) until it ended. */
  batchSeconds?: number;
  outcome: string;
  /** Counted in N: it ran and its promise could be checked. */
  counted: boolean;
  /** Its pass is a refusal (the batch views stay uncovered). */
  refusal?: boolean;
  /** Nothing lost or counted twice, and batch equal to the reference (or refused, for a refusal). */
  ok: boolean;
  notes: string[];
  seconds: number;
}

const PRE_FAULT_ACKS = 1000;
const POST_FAULT_ACKS = 300;

export async function runScenario(s: Scenario, c: RunningComponents, say: (t: string) => void): Promise<Row> {
  const t0 = Date.now();
  const notes: string[] = [];
  const base = { scenario: s.name, fault: s.fault, topology: s.topology, notes };
  const prepared = await s.prepare?.(c);
  if (prepared && 'unavailable' in prepared) return { ...base, acked: 0, outcome: `not run: ${prepared.unavailable}`, counted: false, ok: true, seconds: 0 };

  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  // Three closed days, clear of the catch-up window a batch process would claim at start-up.
  const span: Span = { from: today - 6 * DAY_MS, to: today - 3 * DAY_MS };
  const ownBroker = s.ownBroker ? await startOwnBroker(path.join(c.workDir, `kafka-${s.name}`)) : undefined;
  const brokers = ownBroker?.brokers ?? c.brokers;
  let d: Deployment | undefined;
  let traffic: Traffic | undefined;
  try {
    say(`${s.name}: starting weir (${s.topology})`);
    d = await startDeployment(c, { topology: s.topology, brokers, extra: s.extra, env: s.env, clickhouseDir: prepared?.clickhouseDir });
    const dep = d;
    const appId = `faults-${randomBytes(3).toString('hex')}`;
    const keys = await createTestApp({ url: d.collectorUrl(), adminToken: d.adminToken }, { app_id: appId });
    const app: App = { appId, writeKey: keys.write_key, readKey: keys.read_key };
    traffic = startTraffic({ url: () => dep.collectorUrl(), writeKey: app.writeKey, appId, seed: t0 % 100_000, startMs: span.from, endMs: span.to - 1 });
    const tr = traffic;
    await waitFor(() => tr.acked.size >= PRE_FAULT_ACKS, { timeoutMs: 120_000, what: `${PRE_FAULT_ACKS} acknowledged events before the fault` });

    let faultEnd: number | undefined;
    const ctx: ScenarioContext = { d, c, brokers, ownBroker, traffic, app, span, note: (t) => notes.push(t), say: (t) => say(`${s.name}: ${t}`), ended: () => (faultEnd ??= Date.now()) };
    say(`${s.name}: fault: ${s.fault}`);
    await s.cause(ctx);
    ctx.ended();
    const end = faultEnd as number;
    const ackedAtEnd = tr.acked.size;
    await waitFor(() => tr.acked.size >= ackedAtEnd + POST_FAULT_ACKS, { timeoutMs: 180_000, what: 'the collector acknowledging again after the fault' });
    await traffic.stop();
    if (!tr.acked.size) throw new Error('nothing was acknowledged');

    let outcome = 'recovered';
    let acked: ReadonlySet<string> = tr.acked;
    let recoverSeconds: number | undefined;
    const refused = await s.refusal?.(ctx);
    if (refused) {
      ({ outcome, acked } = refused);
    } else {
      say(`${s.name}: waiting for the speed views to count all ${acked.size} acknowledged events and the consumers to commit the topic`);
      await waitFor(async () => (await viewEvents(dep, app, span)).events >= acked.size, { timeoutMs: 300_000, intervalMs: 500, what: 'the speed views to count every acknowledged event' });
      await waitForConsumers(d, brokers, 300_000);
      recoverSeconds = (Date.now() - end) / 1000;
    }
    const speed = await viewEvents(d, app, span);
    if (speed.sources.some((x) => x !== 'speed')) notes.push(`before the batch run the reports answered from ${speed.sources.join(', ')}`);

    say(`${s.name}: batch run over ${isoDay(span.from)}…${isoDay(span.to - DAY_MS)}`);
    const batchStarted = Date.now();
    const run: Run = await runBatch(d, isoDay(span.to - DAY_MS), 400_000);
    const batchSeconds = (Date.now() - batchStarted) / 1000;
    // After a refusal the batch layer must refuse too: a run that succeeds calls the days
    // exact without the held events.
    const batchRefused = Boolean(refused) && run.status === 'failed';
    if (run.status !== 'succeeded' && !batchRefused) notes.push(`batch run ${run.status}: ${run.error}`);
    if (refused) outcome += batchRefused ? '; the batch run refused' : '; but the batch run covered the days without them';
    if (batchRefused) notes.push(`batch run failed: ${run.error}`);
    const m = await measure(d, { app, span, acked, brokers, speedEvents: speed.events, referenceFrom: refused ? 'archive' : 'kafka', batch: !batchRefused });
    if (refused && !batchRefused && refused.held > 0) {
      m.findings.push(`${refused.held} acknowledged events left out of days the batch run called exact`);
      m.lost = Math.max(m.lost, refused.held);
    }
    notes.push(...m.findings);
    const stopped = await d.stop();
    d = undefined;
    notes.push(...stopped.map((p) => `on SIGTERM: ${p}`));
    const statuses = Object.entries(tr.statuses).filter(([st]) => st !== '202');
    if (statuses.length) notes.push(`refused or unanswered requests: ${statuses.map(([st, n]) => `${n}× ${st === '0' ? 'no answer' : st}`).join(', ')}`);
    const ok = m.lost === 0 && m.countedTwice === 0 && (refused ? batchRefused : m.batchEqualReference === true);
    return { ...base, ...m, acked: acked.size, recoverSeconds, batchSeconds, outcome, counted: true, refusal: Boolean(refused), ok, seconds: (Date.now() - t0) / 1000 };
  } catch (err) {
    notes.push((err as Error).message.slice(0, 2000));
    return { ...base, acked: traffic?.acked.size ?? 0, outcome: 'failed', counted: true, refusal: Boolean(s.refusal), ok: false, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await traffic?.stop();
    if (d) await d.stop().catch(() => undefined);
    await ownBroker?.stop();
    await prepared?.undo();
  }
}
