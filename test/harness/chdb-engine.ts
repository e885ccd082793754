/**
 * The engine under the ClickHouse HTTP harness: chDB's native addon, one data directory per
 * process, one native connection per HTTP query (or per `session_id`), so a query's settings
 * and `USE` stay with it as they do on a server.
 *
 * The harness calls the addon directly rather than chdb's `Session.queryBindAsync`: HTTP
 * `param_<name>` values arrive already in ClickHouse's escaped text form (what the server
 * parses for `{name:Type}`), and the addon takes exactly that form. `queryBindAsync` escapes
 * strings once more, which would change an `Array(String)` value such as `['a\'b']`.
 */
import path from 'node:path';

interface NativeResult {
  bytes: Uint8Array;
  elapsed: number;
  rowsRead: number;
  bytesRead: number;
}
interface NativeInsertResult {
  elapsed: number;
  rowsWritten: number;
  bytesWritten: number;
}
type Handle = object;
interface Native {
  CreateConnection(dir: string): Handle;
  CloseConnection(h: Handle): void;
  QueryAsyncConnection(h: Handle, sql: string, format: string, params?: Record<string, string>): Promise<NativeResult>;
  InsertRawAsyncConnection(h: Handle, prefix: string, data: Buffer, lineDelimited: boolean): Promise<NativeInsertResult>;
}

// The package's export map hides its loader; resolve it next to the package's entry point.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS addon loader
const native = (require(path.join(path.dirname(require.resolve('chdb')), 'dist/loader.js')) as { loadNative(): Native }).loadNative();

export interface EngineResult {
  bytes: Buffer;
  elapsedS: number;
  readRows: number;
  readBytes: number;
  writtenRows: number;
  writtenBytes: number;
}

export interface EngineConnection {
  /** Runs one statement; `params` are `{name:Type}` values in ClickHouse's escaped text form. */
  query(sql: string, format: string, params?: Record<string, string>): Promise<EngineResult>;
  /** `INSERT … FORMAT X` with its data as bytes (any format, binary ones included). */
  insert(prefix: string, data: Buffer): Promise<EngineResult>;
  /** Closes once the statement in flight (if any) has finished: closing under it aborts the engine. */
  close(): Promise<void>;
}

/**
 * libchdb keeps query parameters in state that two connections running parameterised queries
 * at once clobber (chdb's own index.js serialises them process-wide for the same reason), so
 * parameterised statements take turns here too. Others run in parallel.
 */
let paramTurn: Promise<unknown> = Promise.resolve();
function inTurn<T>(run: () => Promise<T>): Promise<T> {
  const p = paramTurn.then(run);
  paramTurn = p.catch(() => undefined);
  return p;
}

export function openEngine(dataDir: string): { connect(): EngineConnection } {
  const dir = path.resolve(dataDir);
  return {
    connect() {
      const h = native.CreateConnection(dir);
      let inFlight: Promise<unknown> = Promise.resolve();
      const track = <T>(p: Promise<T>): Promise<T> => {
        inFlight = p.catch(() => undefined);
        return p;
      };
      return {
        query: (sql, format, params) =>
          track(
            (params && Object.keys(params).length ? inTurn(() => native.QueryAsyncConnection(h, sql, format, params)) : native.QueryAsyncConnection(h, sql, format)).then((r) => ({
              bytes: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength),
              elapsedS: r.elapsed,
              readRows: r.rowsRead,
              readBytes: r.bytesRead,
              writtenRows: 0,
              writtenBytes: 0,
            })),
          ),
        insert: (prefix, data) =>
          track(native.InsertRawAsyncConnection(h, prefix, data, false)).then((r) => ({
            bytes: Buffer.alloc(0),
            elapsedS: r.elapsed,
            readRows: r.rowsWritten,
            readBytes: r.bytesWritten,
            writtenRows: r.rowsWritten,
            writtenBytes: r.bytesWritten,
          })),
        close: async () => {
          await inFlight;
          native.CloseConnection(h);
        },
      };
    },
  };
}
