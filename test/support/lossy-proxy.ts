/**
 * An HTTP proxy in front of weir that loses the response of chosen requests: it forwards the
 * request whole, waits until weir has answered (so weir has acted on it), then cuts the
 * client's connection instead of passing the answer on. That is what an SDK sees when the
 * network drops a reply mid-flush, and it makes the SDK send the same messages again.
 */
import http from 'node:http';

export interface LossyProxy {
  url: string;
  /** Requests forwarded, and how many of their answers were lost. */
  readonly counts: { forwarded: number; lost: number };
  stop(): Promise<void>;
}

export async function startLossyProxy(target: string, loseAnswer: (requestNumber: number) => boolean): Promise<LossyProxy> {
  const counts = { forwarded: 0, lost: 0 };
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const n = ++counts.forwarded;
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        if (loseAnswer(n)) {
          answer.resume();
          answer.on('end', () => {
            counts.lost++;
            req.socket.destroy();
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
