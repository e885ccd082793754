/**
 * One collector under test, in its own process: `startWeir` with the ingest role, configured
 * from the environment the bench gives it (like `weir start --role ingest`). Started with
 * `--cpu-prof` when profiling: the profile is written when this process exits normally, so it
 * stops on the parent's `stop` message rather than being killed.
 */
import { startWeir, type Running } from '../../cli/start';
import { loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { reportFatal } from './child';

let running: Running | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await running?.stop().catch(() => undefined);
  }
  process.exit(code);
}

async function main(): Promise<void> {
  const cfg = loadConfig(process.env);
  running = await startWeir(cfg, { role: 'ingest', demo: false }, createLogger(cfg.logLevel));
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'stop') void stop(0);
  });
  process.once('disconnect', () => void stop(1)); // the bench died
  process.once('SIGTERM', () => void stop(0));
  process.send?.({ type: 'ready', url: running.url, adminToken: running.adminToken, pid: process.pid });
}

main().catch(reportFatal);
