/**
 * The embedded ClickHouse's data directory on a size-limited file system (a 256 MB tmpfs)
 * that fills up under traffic: a file takes every free byte until the speed layer's writes
 * have failed for a while, then it is deleted. Mounting needs root (CAP_SYS_ADMIN); where
 * that is missing the row says so and the scenario is not counted.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { metricValue } from '../../support/metrics';
import { waitFor } from '../../support/wait-for';
import type { Scenario, ScenarioContext } from '../scenario';

const SIZE = '256m';

async function mountSmallDisk(c: { workDir: string }) {
  const dir = path.join(c.workDir, `small-disk-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    const why = ((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim();
    return { unavailable: `no size-limited mount can be made here (mount -t tmpfs as uid ${process.getuid?.()}: ${why})` };
  }
  return {
    clickhouseDir: dir,
    undo: async () => {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    },
  };
}

async function fillDisk(ctx: ScenarioContext): Promise<void> {
  const filler = path.join(fs.realpathSync(path.join(ctx.d.dir, 'clickhouse')), 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(1 << 20, 1);
  let bytes = 0;
  try {
    for (;;) bytes += fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  const weir = ctx.d.proc('all');
  const exited = () => weir.child.exitCode !== null || weir.child.signalCode !== null;
  const before = await metricValue(weir.url, 'weir_speed_write_failures_total');
  await waitFor(async () => exited() || (await metricValue(weir.url, 'weir_speed_write_failures_total')) >= before + 3, {
    timeoutMs: 90_000,
    intervalMs: 500,
    what: 'the speed layer failing to write to the full disk',
  });
  const filled = `filled with ${(bytes / 2 ** 20).toFixed(0)} MB until ENOSPC`;
  if (exited()) {
    // A finding, not the end of the scenario: freed, it is started again as an operator would.
    ctx.note(`${filled}; weir exited (${weir.child.exitCode ?? weir.child.signalCode}): ${weir.stderr().slice(-300)}`);
    fs.rmSync(filler);
    ctx.ended();
    await ctx.d.restart('all');
    return;
  }
  const ready = await fetch(`${weir.url}/ready`).then((r) => r.status, () => 0);
  ctx.note(`${filled}; speed writes failed and were retried, the process stayed up; /ready ${ready} meanwhile`);
  fs.rmSync(filler);
}

export const diskFull: Scenario = {
  name: 'clickhouse-disk-full',
  fault: `the embedded ClickHouse's disk (${SIZE} tmpfs) filled up under traffic, then freed`,
  topology: 'all-in-one',
  prepare: mountSmallDisk,
  cause: fillDisk,
};
