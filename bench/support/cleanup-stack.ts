/**
 * Runs a benchmark body with cleanup steps that run in reverse order, each once, whether the
 * bench ends, fails or is interrupted (SIGINT/SIGTERM). Child processes go first (SIGTERM: a
 * collector still writes its CPU profile), so that none outlives the broker it talks to.
 */
import { killAllChildren } from './child';

export type OnCleanup = (name: string, fn: () => Promise<unknown> | unknown) => void;

export async function withCleanup<T>(body: (onCleanup: OnCleanup) => Promise<T>): Promise<T> {
  const steps: { name: string; fn: () => Promise<unknown> | unknown }[] = [{ name: 'child processes', fn: () => killAllChildren(20_000) }];
  let running: Promise<void> | undefined;
  const run = () =>
    (running ??= (async () => {
      for (const s of steps.reverse()) {
        try {
          await s.fn();
        } catch (err) {
          process.stderr.write(`bench cleanup: ${s.name} failed: ${(err as Error).message}\n`);
        }
      }
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`bench: ${sig}, cleaning up\n`);
    void run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body((name, fn) => void steps.splice(steps.length - 1, 0, { name, fn }));
  } finally {
    await run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
