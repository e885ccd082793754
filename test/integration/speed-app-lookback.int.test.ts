/**
 * The stream applies each app's own lookback (DESIGN.md rule 2, 1–30 days): an app created
 * after the speed layer joined, with `lookback_days` 14, has its 13-day-old click win in the
 * stream, while an app with 7 days finds none for the same events. (The state once kept
 * clicks for max(LOOKBACK_DAYS, 7) days whatever the apps said.) Real broker, real engine,
 * the whole pipeline in one process.
 */
import { createTestApp, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';

const DAY = 86_400_000;
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

async function send(app: { app_id: string; write_key: string }, now: number): Promise<void> {
  const res = await fetch(`${stack.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.write_key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      events: [
        { event_id: 'c1', app_id: app.app_id, type: 'click', ts: now - 13 * DAY, device_id: 'd1', campaign_id: 'spring', channel: 'meta' },
        { event_id: 'i1', app_id: app.app_id, type: 'install', ts: now, device_id: 'd1' },
      ],
    }),
  });
  expect(res.status).toBe(202);
  expect(((await res.json()) as { accepted: number }).accepted).toBe(2);
}

async function streamDecision(app: { app_id: string; read_key: string }, now: number): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const q = new URLSearchParams({ from: new Date(now - DAY).toISOString(), to: new Date(now + DAY).toISOString() });
      const res = await fetch(`${stack.url}/v1/apps/${app.app_id}/attributions?${q}`, { headers: { authorization: `Bearer ${app.read_key}` } });
      const rows = ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
      return rows.find((r) => r.install_event_id === 'i1');
    },
    { timeoutMs: 60_000, what: 'the stream decision' },
  );
}

it('lets a 13-day-old click win for an app with a 14-day lookback, and not for one with 7', async () => {
  const long = await createTestApp(stack, { app_id: `lb14-${Date.now() % 100000}`, lookback_days: 14 });
  const short = await createTestApp(stack, { app_id: `lb7-${Date.now() % 100000}`, lookback_days: 7 });
  const now = Date.now() - 60_000;
  await send(long, now);
  await send(short, now);
  expect(await streamDecision(long, now)).toMatchObject({ outcome: 'attributed', match: 'device', click_event_id: 'c1', channel: 'meta', source: 'speed' });
  expect(await streamDecision(short, now)).toMatchObject({ outcome: 'organic', match: null, source: 'speed' });
}, 120_000);
