/**
 * Starts the speed layer under test in its own process (speed-layer-process.ts) and waits
 * until its engine is open and migrated; `go` then starts the layer.
 */
import path from 'node:path';
import { forkChild, type BenchChild } from './child';
import type { SpeedLayerInit } from './speed-layer-process';

export async function forkSpeedLayer(name: string, init: Omit<SpeedLayerInit, 'type'>, execArgv: string[] = []): Promise<BenchChild> {
  const child = forkChild(name, path.join(__dirname, 'speed-layer-process.ts'), {
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    execArgv,
  });
  child.send({ type: 'init', ...init });
  await child.next('ready', 120_000);
  return child;
}
