/**
 * A bench child process (collector, load client, baseline producer) driven over the IPC
 * channel: the parent sends commands and waits for typed replies. The child's stdout goes to
 * the parent's stderr, so that a suite's last stdout line stays its JSON result.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ChildMessage {
  type: string;
  [k: string]: unknown;
}

export interface BenchChild {
  readonly name: string;
  readonly pid: number;
  send(msg: ChildMessage): void;
  /** The next message of this type (also one that arrived earlier); rejects if the child fails or exits first. */
  next<T extends ChildMessage>(type: string, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  kill(graceMs?: number): Promise<void>;
  /** SIGKILL at once (a crash: no handler runs); resolves when the process has exited. */
  crash(): Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

const live = new Set<BenchChild>();

/** Kills every child still running (cleanup after a failure or Ctrl-C). */
export async function killAllChildren(graceMs = 10_000): Promise<void> {
  await Promise.all([...live].map((c) => c.kill(graceMs)));
}

export function forkChild(name: string, script: string, opts: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {}): BenchChild {
  const proc: ChildProcess = fork(script, [], {
    env: opts.env ?? process.env,
    // tsx is registered through --import; keep the parent's flags and add the child's own.
    execArgv: [...process.execArgv, ...(opts.execArgv ?? [])],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  proc.stdout?.pipe(process.stderr);
  const inbox: ChildMessage[] = [];
  const waiters: { type: string; resolve: (m: ChildMessage) => void; reject: (e: Error) => void }[] = [];
  let failure: Error | undefined;

  const failAll = (err: Error) => {
    failure ??= err;
    for (const w of waiters.splice(0)) w.reject(failure);
  };
  proc.on('message', (raw) => {
    const m = raw as ChildMessage;
    if (m.type === 'error') return failAll(new Error(`${name}: ${String(m.message)}`));
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(child);
      failAll(new Error(`${name} exited (${signal ?? `code ${code}`})`));
      resolve();
    });
  });
  proc.once('error', (err) => failAll(new Error(`${name}: ${err.message}`)));

  let killing: Promise<void> | undefined;
  const child: BenchChild = {
    name,
    pid: proc.pid as number,
    exited,
    send(msg) {
      if (proc.connected) proc.send(msg);
    },
    next<T extends ChildMessage>(type: string, timeoutMs = 600_000): Promise<T> {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as T);
      if (failure) return Promise.reject(failure);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          type,
          resolve: (m) => (clearTimeout(timer), resolve(m as T)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    kill(graceMs = 10_000) {
      return (killing ??= (async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })());
    },
    crash() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return exited;
    },
  };
  live.add(child);
  return child;
}

/** A child stopped by message (so that a CPU profile gets written), killed if that does not work. */
export async function stopChild(child: BenchChild, graceMs = 20_000): Promise<void> {
  child.send({ type: 'stop' });
  await Promise.race([child.exited, new Promise((r) => setTimeout(r, graceMs))]);
  await child.kill();
}

/**
 * Drives a bench child: each command from the parent goes to `handle` (a failure is reported
 * to the parent and ends the child), and the child stops when the parent goes away
 * (`stop(1)`) or on SIGTERM (`stop(0)`).
 */
export function serveCommands(handle: (m: { type: string }) => Promise<void>, stop: (code: number) => Promise<never>): void {
  process.on('message', (m) => void handle(m as { type: string }).catch(reportFatal));
  process.once('disconnect', () => void stop(1));
  process.once('SIGTERM', () => void stop(0));
}

/** In a child: report an uncaught failure to the parent and exit. */
export function reportFatal(err: unknown): never {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  if (process.send) process.send({ type: 'error', message });
  else process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) of proc(5), counted after the command name: indexes 11, 12.
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

/** The highest resident set size (MB) a process has had so far (`VmHWM`, Linux); NaN elsewhere. */
export function peakRssMb(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Splits a buffer of newline-terminated records into views (no copies). */
export function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    if (nl > start) out.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}
