/**
 * TRUSTED_PROXIES (DESIGN.md section 8) through a real collector and broker: an event sent
 * without `ip` gets the rightmost untrusted hop of X-Forwarded-For when the request comes
 * from a trusted proxy (a loopback address, 127.0.0.2), and the socket address when it comes
 * from any other peer (127.0.0.1), whatever X-Forwarded-For says.
 */
import http from 'node:http';
import { createTestApp, startTestStack, topicEvents, type TestStack } from '../support/test-stack';

jest.setTimeout(120_000);

const APP = 'proxied';
let stack: TestStack;
let writeKey: string;

beforeAll(async () => {
  stack = await startTestStack({ role: 'ingest', env: { TRUSTED_PROXIES: '127.0.0.2/32' } });
  writeKey = (await createTestApp(stack, { app_id: APP })).write_key;
});
afterAll(async () => stack?.stop());

/** POST /v1/events from a chosen local address (fetch cannot pick one). */
function postFrom(localAddress: string, eventId: string, forwardedFor: string): Promise<number> {
  const body = JSON.stringify({ events: [{ event_id: eventId, app_id: APP, type: 'launch', ts: Date.now(), device_id: 'd1' }] });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${stack.url}/v1/events`,
      {
        method: 'POST',
        localAddress,
        headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

it('fills the forwarded client ip behind a trusted proxy and the socket address otherwise', async () => {
  expect(await postFrom('127.0.0.2', 'via-proxy', '198.51.100.1, 203.0.113.9')).toBe(202);
  expect(await postFrom('127.0.0.1', 'direct', '198.51.100.1, 203.0.113.9')).toBe(202);

  const events = await topicEvents(stack.cfg.kafka.topics.events);
  const ipOf = (id: string) => events.find((e) => e.event_id === id)?.ip;
  expect(ipOf('via-proxy')).toBe('203.0.113.9');
  expect(ipOf('direct')).toBe('127.0.0.1');

  const metrics = await (await fetch(`${stack.url}/metrics`)).text();
  expect(metrics).toContain('weir_ingest_server_filled_ips_total{source="forwarded"} 1');
  expect(metrics).toContain('weir_ingest_server_filled_ips_total{source="socket"} 1');
});

it('is ready on Kafka alone: the app keys it checks are held in memory', async () => {
  const res = await fetch(`${stack.url}/ready`);
  expect(await res.json()).toEqual({ status: 'ready', checks: { kafka: 'ok' } });
});
