/**
 * `weir generate`: realistic traffic for demos, tests and benchmarks. Sends to a collector,
 * or writes NDJSON (`--out`). Registered on the `weir` command by cli.ts.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Command, InvalidArgumentError } from 'commander';
import { generateEvents, type GenerateOptions } from './generate-events';
import { sendEvents } from './send-events';

const DAY_MS = 86_400_000;
const APP_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

interface GenerateFlags {
  events: number;
  seed: number;
  apps: string[];
  days: number;
  rate?: number;
  concurrency: number;
  batchSize: number;
  url: string;
  key?: Record<string, string>;
  out?: string;
  gzip: boolean;
  late: number;
  duplicates: number;
  skew: number;
  fraud: number;
  invalid: number;
  edgeCases: boolean;
  progress?: boolean;
}

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
  return n;
};
const num = (min: number, max = Number.POSITIVE_INFINITY) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`must be a number from ${min} to ${max}`);
  return n;
};
const appList = (v: string) => {
  const apps = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = apps.filter((a) => !APP_ID_RE.test(a));
  if (apps.length === 0 || bad.length > 0) throw new InvalidArgumentError(`app ids must match ${APP_ID_RE}; got ${bad.join(', ') || 'none'}`);
  return apps;
};

/** `app=writeKey,app2=writeKey2`. */
export function parseKeys(v: string): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const pair of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new InvalidArgumentError(`expected app=writeKey, got "${pair}"`);
    keys[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return keys;
}

export function registerGenerateCommand(program: Command): Command {
  return program
    .command('generate')
    .description('generate realistic events (attribution, fraud, duplicates, late and skewed events) and send them to a collector')
    .option('--events <n>', 'number of events', int(0), 10_000)
    .option('--seed <n>', 'random seed (same seed, same events)', int(0), 1)
    .option('--apps <a,b>', 'app ids', appList, ['demo'])
    .option('--days <n>', 'event-time span in days, ending now', num(0.01, 3650), 1)
    .option('--rate <events/s>', 'target send rate (default: as fast as possible)', num(1))
    .option('--concurrency <n>', 'requests in flight', int(1), 8)
    .option('--batch-size <n>', 'events per request', int(1), 100)
    .option('--url <url>', 'collector base URL', 'http://127.0.0.1:8080')
    .option('--key <app=writeKey,...>', 'write key per app (default: env WEIR_WRITE_KEYS)', parseKeys)
    .option('--out <file>', 'write NDJSON to a file instead of sending ("-": stdout)')
    .option('--gzip', 'gzip request bodies', false)
    .option('--late <fraction>', 'share of events sent hours to days late', num(0, 1), 0.02)
    .option('--duplicates <fraction>', 'share of events re-sent by the client', num(0, 1), 0.02)
    .option('--skew <fraction>', 'share of devices with a wrong clock (events carry sent_at)', num(0, 1), 0.03)
    .option('--fraud <fraction>', 'share of devices following a fraud pattern', num(0, 1), 0.05)
    .option('--invalid <fraction>', 'share of events followed by an invalid one', num(0, 1), 0)
    .option('--no-edge-cases', 'leave out the attribution edge-case scenarios')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: GenerateFlags, cmd: Command) => {
      const endMs = Date.now();
      const gen: GenerateOptions = {
        seed: flags.seed,
        apps: flags.apps,
        events: flags.events,
        startMs: endMs - Math.round(flags.days * DAY_MS),
        endMs,
        lateFraction: flags.late,
        duplicateFraction: flags.duplicates,
        skewFraction: flags.skew,
        fraudFraction: flags.fraud,
        invalidFraction: flags.invalid,
        edgeCases: flags.edgeCases,
      };
      if (flags.out !== undefined) {
        const n = await writeNdjson(flags.out, gen);
        if (flags.out !== '-') process.stderr.write(`wrote ${n} events to ${flags.out}\n`);
        return;
      }
      const keys = flags.key ?? (process.env.WEIR_WRITE_KEYS ? parseKeys(process.env.WEIR_WRITE_KEYS) : {});
      const missing = flags.apps.filter((a) => keys[a] === undefined);
      if (missing.length > 0) cmd.error(`error: no write key for app(s) ${missing.join(', ')}: pass --key app=writeKey,... or set WEIR_WRITE_KEYS`);
      const r = await sendEvents(generateEvents(gen), {
        url: flags.url,
        keys,
        batchSize: flags.batchSize,
        concurrency: flags.concurrency,
        rate: flags.rate,
        gzip: flags.gzip,
        total: flags.events,
        progress: flags.progress !== false && process.stderr.isTTY === true,
      });
      const summary = {
        sent: r.sent,
        accepted: r.accepted,
        rejected: r.rejected.length,
        rejected_sample: r.rejected.slice(0, 10),
        retries: r.retries,
        failed_batches: r.failedBatches,
        seconds: Number(r.seconds.toFixed(3)),
        events_per_s: Math.round(r.sent / Math.max(r.seconds, 0.001)),
      };
      process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      if (r.failedBatches > 0) process.exitCode = 1;
    });
}

/** One wire event per line; honours back-pressure so millions of events stream in bounded memory. */
async function writeNdjson(target: string, gen: GenerateOptions): Promise<number> {
  const out: Writable = target === '-' ? process.stdout : createWriteStream(target);
  let n = 0;
  let chunk: string[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const ok = out.write(chunk.join(''));
    chunk = [];
    if (!ok) await once(out, 'drain');
  };
  for (const item of generateEvents(gen)) {
    chunk.push(JSON.stringify(item.event) + '\n');
    n++;
    if (chunk.length >= 1000) await flush();
  }
  await flush();
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
  return n;
}
