/**
 * `weir start --demo`, the README's first command: the banner names a `demo` app with keys,
 * and within a minute its traffic shows what the dashboard is for (clicks, attributed and
 * organic installs, purchases with revenue, errors), through the whole pipeline (collector,
 * Kafka, speed layer, serving). SIGTERM then stops it cleanly.
 */
import { DAY_MS } from '../reference/attribution';
import { removeScratchDir } from '../support/scratch-dir';
import { cronAwayFromNow, testEnv } from '../support/test-stack';
import { startWeirProcess, type WeirProcess } from '../support/weir-process';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180_000);

const METRICS = ['events', 'clicks', 'attributed_installs', 'organic_installs', 'purchases', 'revenue', 'errors'] as const;
type Totals = Record<(typeof METRICS)[number], number>;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('weir start --demo', () => {
  const { env, dataDir } = testEnv({ BATCH_CRON: cronAwayFromNow() });
  let weir: WeirProcess | undefined;
  afterAll(async () => {
    await weir?.stop('SIGKILL');
    removeScratchDir(dataDir);
  });

  it('feeds a demo app whose reports show clicks, attributed and organic installs, purchases and errors; stops cleanly', async () => {
    weir = await startWeirProcess(['--demo', '--demo-rate', '100'], env);
    const banner = weir.stderr();
    expect(banner).toMatch(/demo app:\s+demo/);
    const readKey = /read key:\s+(\S+)/.exec(banner)?.[1];
    expect(readKey).toMatch(/^rk_/);

    const now = Date.now();
    const url = `${weir.url}/v1/apps/demo/reports/daily?from=${dayOf(now - DAY_MS)}&to=${dayOf(now + 2 * DAY_MS)}&metrics=${METRICS.join(',')}`;
    const totals = await waitFor(
      async () => {
        const res = await fetch(url, { headers: { authorization: `Bearer ${readKey}` } });
        if (res.status !== 200) throw new Error(`report: ${res.status} ${await res.text()}`);
        const { rows } = (await res.json()) as { rows: Totals[] };
        const t = Object.fromEntries(METRICS.map((m) => [m, rows.reduce((s, r) => s + r[m], 0)])) as Totals;
        return METRICS.every((m) => t[m] > 0) ? t : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 2_000, what: 'demo traffic with every kind of event in the reports' },
    );
    expect(totals.revenue).toBeGreaterThan(0);

    expect(await weir.stop('SIGTERM')).toBe(0);
    weir = undefined;
  });
});
