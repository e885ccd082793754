/**
 * One address in front of several weir processes, for tests written against one: a request
 * goes to each process in turn until one has the route (weir answers a route it does not
 * serve with 404 `not_found` "no route …", infra/http/errors-middleware.ts). Only one process
 * serves a route, so a request takes effect once. `/metrics`, which every process serves,
 * answers all their metrics together, as a scrape of each would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);

export async function startRouteProxy(backends: readonly string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void forward(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`route proxy: ${(err as Error).message}`);
    });
  });

  async function forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => !HOP_HEADERS.has(k) && typeof v === 'string')) as Record<string, string>;
    if (req.method === 'GET' && req.url === '/metrics') {
      const scrapes = await Promise.all(backends.map(async (b) => (await fetch(`${b}/metrics`)).text()));
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(scrapes.join('\n'));
      return;
    }
    let first: { status: number; headers: Headers; text: string } | undefined;
    for (const backend of backends) {
      const answer = await fetch(`${backend}${req.url}`, { method: req.method, headers, body, redirect: 'manual' });
      if (answer.status === 404) {
        const text = await answer.text();
        first ??= { status: 404, headers: answer.headers, text };
        if (/"code":"not_found","message":"no route /.test(text)) continue;
        return send(res, answer.status, answer.headers, text);
      }
      return send(res, answer.status, answer.headers, answer.body);
    }
    if (first) send(res, first.status, first.headers, first.text);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** fetch has decoded the body already: its content-encoding and length no longer apply. */
function send(res: http.ServerResponse, status: number, headers: Headers, body: string | ReadableStream<Uint8Array> | null): void {
  const out: Record<string, string> = {};
  headers.forEach((v, k) => {
    if (!HOP_HEADERS.has(k) && k !== 'content-encoding') out[k] = v;
  });
  res.writeHead(status, out);
  if (body === null || typeof body === 'string') res.end(body ?? undefined);
  else Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>).pipe(res);
}
