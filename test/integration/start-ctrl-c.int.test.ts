/**
 * Ctrl-C in a terminal signals the whole foreground process group. `weir start` with its own
 * local broker must still stop in order (consumers leave their groups, then the broker stops):
 * a broker that took the SIGINT itself would be gone while the consumers leave, and they would
 * log `LeaveGroup … not the correct coordinator` and `ECONNREFUSED`.
 */
import path from 'node:path';
import { readBrokerInfo, stopBrokerByPidFile } from '../../infra/kafka/local-broker';
import { removeScratchDir } from '../support/scratch-dir';
import { cronAwayFromNow, testEnv } from '../support/test-stack';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';

jest.setTimeout(180_000);

describe('weir start with the local broker', () => {
  const { env, dataDir } = testEnv({ BATCH_CRON: cronAwayFromNow(), LOG_LEVEL: 'info' });
  delete env.KAFKA_BROKERS; // unset: weir starts its own broker
  const brokerDir = path.join(dataDir, 'kafka');
  let weir: WeirProcess | undefined;
  afterAll(async () => {
    await weir?.stop('SIGKILL');
    await stopBrokerByPidFile(brokerDir, { signal: 'SIGKILL' });
    removeScratchDir(dataDir);
  });

  it('stops cleanly, broker last, when SIGINT reaches its whole process group', async () => {
    weir = await startWeirProcess([], env, 120_000, { ownProcessGroup: true });
    const broker = await readBrokerInfo(brokerDir);
    expect(broker).toBeDefined();

    expect(await weir.stop('SIGINT')).toBe(0);
    const logs = weir.stdout();
    weir = undefined;
    // pino levels: 50 error, 60 fatal.
    const errors = logs.split('\n').filter((l) => /"level":(50|60)/.test(l));
    expect(errors).toEqual([]);
    expect(logs).not.toMatch(/ECONNREFUSED|not the correct coordinator/);
    expect(await readBrokerInfo(brokerDir)).toBeUndefined();
  });
});
