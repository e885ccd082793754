/**
 * Segment's browser library `@segment/analytics-next` (its UMD build from npm) in headless
 * Chromium, on a page served from another origin than weir's, with its settings given inline
 * (`cdnSettings`: Segment's CDN cannot be reached here) and `apiHost` set to weir: its page
 * and track calls land in the events topic. The browser's preflight (the library sends the
 * write key in `Authorization`) passes for an origin of CORS_ORIGINS and fails for another.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../../infra/paths';
import type { StoredEvent } from '../../schemas/event';
import { launchChromium } from '../support/browser';
import { createTestApp, readTopic, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180_000);

const APP = 'seg-browser';
const UMD_DIR = path.join(REPO_ROOT, 'node_modules/@segment/analytics-next/dist/umd');

let stack: TestStack;
let site: http.Server;
let siteOrigin: string;
let otherOrigin: string;
let writeKey: string;
let browser: Browser;

/** The site: a page loading analytics-next, and the library's files (its lazily loaded chunks come from `cdnURL`). */
function startSite(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>shop</title><script src="/analytics-next/bundles/index.js"></script>');
      return;
    }
    const file = path.join(UMD_DIR, path.basename(url.pathname));
    if (url.pathname.startsWith('/analytics-next/bundles/') && fs.existsSync(file)) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(fs.readFileSync(file));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  site = await startSite();
  const { port } = site.address() as { port: number };
  siteOrigin = `http://127.0.0.1:${port}`;
  // The same server under another host name: another origin, not in CORS_ORIGINS.
  otherOrigin = `http://localhost:${port}`;
  stack = await startTestStack({ role: 'ingest', env: { CORS_ORIGINS: siteOrigin } });
  writeKey = (await createTestApp(stack, { app_id: APP })).write_key;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await new Promise((resolve) => site?.close(resolve));
});

async function openPage(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return page;
}

/** Loads analytics-next with inline settings pointing at weir, then sends a page and a track call and waits for both deliveries. */
function sendFromPage(page: Page, o: { writeKey: string; apiHost: string; cdnURL: string }): Promise<{ page: string; track: string; failed: unknown[] }> {
  return page.evaluate(async ({ writeKey, apiHost, cdnURL }) => {
    interface Ctx {
      event: { messageId: string };
      failedDelivery(): unknown;
    }
    interface AnalyticsLike {
      page(name: string, properties?: object): Promise<Ctx>;
      track(event: string, properties?: object): Promise<Ctx>;
    }
    const g = globalThis as unknown as { AnalyticsNext: { AnalyticsBrowser: { load(s: object): Promise<[AnalyticsLike, unknown]> } } };
    const [analytics] = await g.AnalyticsNext.AnalyticsBrowser.load({
      writeKey,
      cdnURL,
      cdnSettings: { integrations: { 'Segment.io': { apiKey: writeKey, apiHost, protocol: 'http' } } },
    });
    const p = await analytics.page('Pricing', { plan: 'pro' });
    const t = await analytics.track('Signed Up', { plan: 'pro' });
    return { page: p.event.messageId, track: t.event.messageId, failed: [p.failedDelivery(), t.failedDelivery()].filter(Boolean) };
  }, o);
}

describe('analytics-next in Chromium on another origin', () => {
  it('delivers page and track calls that land as weir events', async () => {
    const page = await openPage(siteOrigin);
    const sent = await sendFromPage(page, { writeKey, apiHost: `${new URL(stack.url).host}/v1`, cdnURL: siteOrigin });
    expect(sent.failed).toEqual([]);
    const byId = await waitFor(async () => {
      const events = (await readTopic(stack.cfg.kafka.topics.events)).map((m) => JSON.parse(m.value) as StoredEvent);
      const m = new Map(events.map((e) => [e.event_id, e]));
      return m.has(sent.page) && m.has(sent.track) ? m : undefined;
    }, { timeoutMs: 30_000, what: 'the browser events in the topic' });
    const ua = await page.evaluate(() => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent);
    expect(byId.get(sent.page)).toMatchObject({ app_id: APP, type: 'event', name: 'page:Pricing', ua });
    expect(byId.get(sent.track)).toMatchObject({ app_id: APP, type: 'event', name: 'Signed Up', ua });
    // The device is the library's anonymous id, the same for both calls.
    expect(byId.get(sent.track)?.device_id).toBe(byId.get(sent.page)?.device_id);
    await page.close();
  });

  it('is refused by the browser from an origin outside CORS_ORIGINS (the preflight fails)', async () => {
    const page = await openPage(otherOrigin);
    const outcome = await page.evaluate(async ({ url, auth }) => {
      try {
        const res = await fetch(`${url}/v1/t`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain', Authorization: auth },
          body: JSON.stringify({ type: 'track', event: 'Blocked', messageId: 'blocked-1', anonymousId: 'a' }),
        });
        return `status ${res.status}`;
      } catch (err) {
        return `refused: ${(err as Error).name}`;
      }
    }, { url: stack.url, auth: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` });
    expect(outcome).toBe('refused: TypeError');
    await page.close();
  });
});
