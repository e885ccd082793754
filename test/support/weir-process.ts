/**
 * `bin/weir start` as a child process, the way an operator runs it: its address is read from
 * the start-up banner on stderr (PORT=0 picks a free port), and stopping it reports how it
 * exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/paths';
import { waitFor } from './wait-for';

export interface WeirProcess {
  child: ChildProcess;
  /** Base URL from the banner, once it is up. */
  url: string;
  /** The last 20 000 characters of its stderr (for failure messages). */
  stderr(): string;
  /** The last 200 000 characters of its stdout: its pino log lines. */
  stdout(): string;
  /**
   * Sends `signal` (default SIGTERM) and resolves with the exit code (null: killed by a signal).
   * Started with `ownProcessGroup`, the signal goes to the whole group, as a terminal's Ctrl-C does.
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startWeirProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
  opts: { ownProcessGroup?: boolean } = {},
): Promise<WeirProcess> {
  const child = spawn(path.join(REPO_ROOT, 'bin/weir'), ['start', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.ownProcessGroup ?? false });
  let err = '';
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`weir start ${args.join(' ')} exited with ${child.exitCode}: ${err}`);
      return /weir is running at (\S+)/.exec(err)?.[1];
    },
    { timeoutMs, what: `weir start ${args.join(' ')}` },
  );
  return {
    child,
    url,
    stderr: () => err,
    stdout: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        if (opts.ownProcessGroup) process.kill(-(child.pid as number), signal);
        else child.kill(signal);
      }
      return exited;
    },
  };
}
