/**
 * TEST HARNESS, not a ClickHouse server. No ClickHouse server can be installed here
 * (FIELD-NOTES.md), so weir's server path (`CLICKHOUSE_URL`, @clickhouse/client over HTTP) is
 * tested against this: ClickHouse's documented HTTP interface served over the embedded engine.
 * The SQL runs in real ClickHouse (chDB, test/harness/chdb-engine.ts); only the HTTP framing
 * is ours, copied from https://clickhouse.com/docs/interfaces/http:
 *
 * - the query in the POST body, or in `?query=` (a POST body then follows it after a line
 *   feed: INSERT data, in any format);
 * - `param_<name>` for `{name:Type}`; `database` (or `X-ClickHouse-Database`); `default_format`
 *   (or `X-ClickHouse-Format`); `query_id`; `session_id`, `session_timeout`, `session_check`;
 *   every other URL parameter is a setting of that query alone;
 * - request bodies with `Content-Encoding` gzip/deflate/br/zstd; responses compressed as
 *   `Accept-Encoding` asks when `enable_http_compression=1`;
 * - `X-ClickHouse-Query-Id`, `X-ClickHouse-Format`, `X-ClickHouse-Timezone`,
 *   `X-ClickHouse-Summary` on every answer;
 * - errors as `Code: N. DB::Exception: …` text with `X-ClickHouse-Exception-Code` and the
 *   server's status for the code (exceptionCodeToHTTPStatus.cpp);
 * - a URL longer than `http_max_uri_size` (1 MiB) refused before anything runs: 400,
 *   `HTTP request URI invalid or too long`, connection closed.
 *
 * - several statements in one request refused (chDB would run them all).
 *
 * Ours, for tests only: gates (openGate, request-gate.ts), further addresses of the same
 * harness through which a test can hold a request before it runs and release it later.
 *
 * Not copied: users and grants (any user is accepted), readonly GET, progress headers,
 * multipart bodies (external tables).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { openEngine, type EngineConnection, type EngineResult } from './chdb-engine';
import { createRequestGate, type HarnessGate } from './request-gate';
import { hasSeveralStatements } from './several-statements';

export const HTTP_MAX_URI_SIZE = 1024 * 1024;

export interface ClickHouseHttpHarness {
  url: string;
  /** A further address of this harness (same engine, same data) whose requests a test can hold: see request-gate.ts. */
  openGate(): Promise<HarnessGate>;
  stop(): Promise<void>;
}

type Gate = ReturnType<typeof createRequestGate>;

/** URL parameters that frame the request; every other one is a setting. */
const FRAMING = new Set(['query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check', 'user', 'password', 'quota_key', 'role', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'stacktrace']);
/** Settings of the HTTP layer itself: the harness acts on them and the engine never sees them. */
const HTTP_LAYER_SETTINGS = /^(enable_http_compression|http_\w+|send_progress_in_http_headers)$/;

/** exceptionCodeToHTTPStatus.cpp, by the error name chDB's messages end with. */
const STATUS_BY_ERROR: Record<string, number> = {
  REQUIRED_PASSWORD: 401,
  ...Object.fromEntries(['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED', 'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED'].map((n) => [n, 403])),
  ...Object.fromEntries(
    [
      'BAD_ARGUMENTS', 'CANNOT_COMPILE_REGEXP', 'CANNOT_PARSE_TEXT', 'CANNOT_PARSE_ESCAPE_SEQUENCE', 'CANNOT_PARSE_QUOTED_STRING', 'CANNOT_PARSE_DATE',
      'CANNOT_PARSE_DATETIME', 'CANNOT_PARSE_NUMBER', 'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING', 'CANNOT_PARSE_IPV4', 'CANNOT_PARSE_IPV6',
      'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'CANNOT_PARSE_UUID', 'DUPLICATE_COLUMN', 'ILLEGAL_COLUMN', 'UNKNOWN_ELEMENT_IN_AST', 'UNKNOWN_TYPE_OF_AST_NODE',
      'THERE_IS_NO_COLUMN', 'TOO_DEEP_AST', 'TOO_BIG_AST', 'UNEXPECTED_AST_STRUCTURE', 'SYNTAX_ERROR', 'INCORRECT_DATA', 'TYPE_MISMATCH', 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
    ].map((n) => [n, 400]),
  ),
  ...Object.fromEntries(
    [
      'UNKNOWN_TABLE', 'UNKNOWN_FUNCTION', 'UNKNOWN_IDENTIFIER', 'UNKNOWN_TYPE', 'UNKNOWN_STORAGE', 'UNKNOWN_DATABASE', 'UNKNOWN_SETTING', 'UNKNOWN_DIRECTION_OF_SORTING',
      'UNKNOWN_AGGREGATE_FUNCTION', 'UNKNOWN_FORMAT', 'UNKNOWN_DATABASE_ENGINE', 'UNKNOWN_TYPE_OF_QUERY', 'UNKNOWN_ROLE',
    ].map((n) => [n, 404]),
  ),
  QUERY_IS_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
  SOCKET_TIMEOUT: 503,
  CANNOT_OPEN_FILE: 503,
  CANNOT_SCHEDULE_TASK: 503,
  HTTP_LENGTH_REQUIRED: 411,
  TIMEOUT_EXCEEDED: 408,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

/** An error the harness raises itself, shaped like the engine's. */
class HarnessError extends Error {
  constructor(code: number, name: string, msg: string) {
    super(`Code: ${code}. DB::Exception: ${msg}. (${name})`);
  }
}

interface Session {
  conn: EngineConnection;
  busy: boolean;
  timer?: NodeJS.Timeout;
}

interface ParsedRequest {
  sql: string;
  /** INSERT data after a query given in the URL, kept as bytes (binary formats included). */
  data?: Buffer;
  params: Record<string, string>;
  settings: [string, string][];
  database?: string;
  format: string;
  queryId: string;
  session?: { id: string; timeoutS: number; check: boolean };
  compressResponse: boolean;
}

export async function startClickHouseHttpHarness(opts: { dataDir: string; port?: number; maxUriSize?: number }): Promise<ClickHouseHttpHarness> {
  const engine = openEngine(opts.dataDir);
  const maxUriSize = opts.maxUriSize ?? HTTP_MAX_URI_SIZE;
  const sessions = new Map<string, Session>();
  const servers: http.Server[] = [];

  /** Serves the harness on a port of its own; through a gate, its requests first pass the gate. */
  async function listen(port: number, gate?: Gate): Promise<string> {
    // Node refuses request heads over maxHeaderSize itself (431); allow a head well past the
    // URI limit so the over-long URL reaches the server's own 400.
    const server = http.createServer({ maxHeaderSize: maxUriSize + 1024 * 1024 }, (req, res) => {
      void handle(req, res, gate).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=UTF-8' });
        res.end(`Code: 1001. DB::Exception: ${(err as Error).message}. (STD_EXCEPTION)\n`);
      });
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, gate: Gate | undefined): Promise<void> {
    if ((req.url ?? '').length > maxUriSize) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=UTF-8', connection: 'close' });
      res.end('HTTP request URI invalid or too long');
      req.socket.destroySoon();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://harness');
    const body = await readBody(req);
    if (url.pathname === '/ping' || url.pathname === '/replicas_status' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query') && !body.length)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8' });
      res.end('Ok.\n');
      return;
    }
    if (url.pathname !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=UTF-8' });
      res.end(`There is no handle ${url.pathname}\n`);
      return;
    }
    const parsed = parseRequest(url, req.headers, body);
    // Held here, when the gate holds it, until the test releases it; it is reported its answer.
    const answered = await gate?.admit(parsed);
    const started = process.hrtime.bigint();
    try {
      const result = await execute(parsed);
      const done = summary(result, started);
      const headers: http.OutgoingHttpHeaders = {
        'content-type': contentType(result.format),
        'x-clickhouse-query-id': parsed.queryId,
        'x-clickhouse-format': result.format,
        'x-clickhouse-timezone': 'UTC',
        'x-clickhouse-summary': JSON.stringify(done),
      };
      if (parsed.session) headers['x-clickhouse-session-id'] = parsed.session.id;
      const { bytes, encoding } = parsed.compressResponse ? compress(result.bytes, req.headers['accept-encoding']) : { bytes: result.bytes, encoding: undefined };
      if (encoding) headers['content-encoding'] = encoding;
      res.writeHead(200, headers);
      res.end(bytes);
      answered?.({ status: 200, summary: done });
    } catch (err) {
      const text = (err as Error).message;
      const code = Number(/^Code: (\d+)\./.exec(text)?.[1] ?? 1001);
      const name = /\(([A-Z_0-9]+)\)\s*$/.exec(text)?.[1] ?? '';
      const status = STATUS_BY_ERROR[name] ?? 500;
      res.writeHead(status, {
        'content-type': 'text/plain; charset=UTF-8',
        'x-clickhouse-query-id': parsed.queryId,
        'x-clickhouse-exception-code': String(code),
      });
      res.end(`${text}\n`);
      answered?.({ status, error: text });
    }
  }

  async function execute(p: ParsedRequest): Promise<EngineResult & { format: string }> {
    if (hasSeveralStatements(p.sql)) throw new HarnessError(62, 'SYNTAX_ERROR', 'Syntax error: Multi-statements are not allowed');
    const { conn, release } = await connectionFor(p);
    try {
      // The query's own settings and database, on a connection no other query shares.
      for (const [name, value] of p.settings) await conn.query(`SET ${name} = ${quote(value)}`, 'TabSeparated');
      if (p.database) await conn.query(`USE ${backquote(p.database)}`, 'TabSeparated');
      const format = /\bFORMAT\s+([A-Za-z0-9]+)\s*;?\s*$/i.exec(p.sql)?.[1] ?? p.format;
      if (p.data?.length && !Object.keys(p.params).length) return { ...(await conn.insert(p.sql, p.data)), format };
      const sql = p.data?.length ? `${p.sql}\n${p.data.toString('utf8')}` : p.sql;
      return { ...(await conn.query(sql, p.format, p.params)), format };
    } finally {
      await release();
    }
  }

  /** A fresh connection per query; a session's own one, held for the query, with `session_id`. */
  async function connectionFor(p: ParsedRequest): Promise<{ conn: EngineConnection; release(): Promise<void> }> {
    if (!p.session) {
      const conn = engine.connect();
      return { conn, release: () => conn.close() };
    }
    const { id, timeoutS, check } = p.session;
    let s = sessions.get(id);
    if (!s) {
      if (check) throw new HarnessError(372, 'SESSION_NOT_FOUND', `Session ${id} not found`);
      s = { conn: engine.connect(), busy: false };
      sessions.set(id, s);
    }
    if (s.busy) throw new HarnessError(373, 'SESSION_IS_LOCKED', `Session ${id} is locked by a concurrent client`);
    const session = s;
    session.busy = true;
    clearTimeout(session.timer);
    return {
      conn: session.conn,
      release: async () => {
        session.busy = false;
        session.timer = setTimeout(() => {
          sessions.delete(id);
          void session.conn.close();
        }, timeoutS * 1000);
      },
    };
  }

  const url = await listen(opts.port ?? 0);
  let stopped: Promise<void> | undefined;
  return {
    url,
    openGate: async () => {
      const gate = createRequestGate();
      return { url: await listen(0, gate), hold: gate.hold };
    },
    stop: () =>
      (stopped ??= Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      ).then(async () => {
        for (const s of sessions.values()) {
          clearTimeout(s.timer);
          await s.conn.close();
        }
        sessions.clear();
      })),
  };
}

function parseRequest(url: URL, headers: http.IncomingHttpHeaders, body: Buffer): ParsedRequest {
  const q = url.searchParams;
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const params: Record<string, string> = {};
  const settings: [string, string][] = [];
  let compressResponse = false;
  for (const [k, v] of q) {
    if (k.startsWith('param_')) params[k.slice('param_'.length)] = v;
    else if (k === 'enable_http_compression') compressResponse = v === '1' || v === 'true';
    else if (!FRAMING.has(k) && !HTTP_LAYER_SETTINGS.test(k)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new HarnessError(115, 'UNKNOWN_SETTING', `Unknown setting '${k}'`);
      settings.push([k, v]);
    }
  }
  const inUrl = q.get('query');
  const sessionId = q.get('session_id');
  return {
    sql: inUrl ?? body.toString('utf8'),
    data: inUrl !== null && body.length ? body : undefined,
    params,
    settings,
    database: q.get('database') ?? header('x-clickhouse-database'),
    format: q.get('default_format') ?? header('x-clickhouse-format') ?? 'TabSeparated',
    queryId: q.get('query_id') || randomUUID(),
    session: sessionId ? { id: sessionId, timeoutS: Number(q.get('session_timeout') ?? 60), check: q.get('session_check') === '1' } : undefined,
    compressResponse,
  };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  switch (req.headers['content-encoding']) {
    case undefined:
    case 'identity':
      return raw;
    case 'gzip':
      return zlib.gunzipSync(raw);
    case 'deflate':
      return zlib.inflateSync(raw);
    case 'br':
      return zlib.brotliDecompressSync(raw);
    case 'zstd':
      return zlib.zstdDecompressSync(raw);
    default:
      throw new Error(`Unknown Content-Encoding ${req.headers['content-encoding']}`);
  }
}

function compress(bytes: Buffer, accept: string | undefined): { bytes: Buffer; encoding?: string } {
  const wanted = (accept ?? '').split(',').map((s) => s.trim().split(';')[0]);
  if (wanted.includes('gzip')) return { bytes: zlib.gzipSync(bytes), encoding: 'gzip' };
  if (wanted.includes('deflate')) return { bytes: zlib.deflateSync(bytes), encoding: 'deflate' };
  if (wanted.includes('br')) return { bytes: zlib.brotliCompressSync(bytes), encoding: 'br' };
  if (wanted.includes('zstd')) return { bytes: zlib.zstdCompressSync(bytes), encoding: 'zstd' };
  return { bytes };
}

function summary(r: EngineResult, started: bigint): Record<string, string> {
  return {
    read_rows: String(r.readRows),
    read_bytes: String(r.readBytes),
    written_rows: String(r.writtenRows),
    written_bytes: String(r.writtenBytes),
    total_rows_to_read: '0',
    result_rows: String(r.writtenRows ? 0 : r.readRows),
    result_bytes: String(r.bytes.length),
    elapsed_ns: String(process.hrtime.bigint() - started),
  };
}

function contentType(format: string): string {
  if (/^JSON/i.test(format)) return 'application/json; charset=UTF-8';
  if (/^(TabSeparated|TSV)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8';
  if (/^CSV/i.test(format)) return 'text/csv; charset=UTF-8; header=absent';
  return 'application/octet-stream';
}

/** A ClickHouse string literal (backslash and quote escaped), for a setting value from the URL. */
const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const backquote = (v: string) => `\`${v.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
