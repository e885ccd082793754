/**
 * A local S3-compatible server for tests and local use: S3Proxy (a Java program, one jar from
 * Maven Central) storing buckets as directories under `dataDir`. Chosen over moto because it
 * is ~15× faster and actually checks the secret (FIELD-NOTES).
 */
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const S3PROXY_VERSION = '4.1.0';
const ARTIFACT = `org.gaul:s3proxy:${S3PROXY_VERSION}:jar:jar-with-dependencies`;
const JAR_NAME = `s3proxy-${S3PROXY_VERSION}-jar-with-dependencies.jar`;

export interface S3ProxyOptions {
  /** Cache root (callers use `<repo>/.cache`); the jar goes to `<cacheDir>/s3proxy/`. */
  cacheDir: string;
  /** Where buckets are stored (one directory per bucket). Created if missing. */
  dataDir: string;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  accessKey?: string;
  secretKey?: string;
  /** Default 60 s; a cold JVM on a busy 2-core box can be slow. */
  readyTimeoutMs?: number;
  /** Default 'java' / 'mvn' from PATH. */
  javaPath?: string;
  mvnPath?: string;
}

export interface S3ProxyHandle {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  pid: number;
  /** Milliseconds spent fetching the jar (0 when cached) and starting until ListBuckets succeeded. */
  timings: { downloadMs: number; readyMs: number };
  /** The last lines the server printed, for error messages. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after 5 s; idempotent. */
  stop(): Promise<void>;
}

/** Returns the jar's path, fetching it with Maven only when it is not in the cache yet. */
export async function ensureS3ProxyJar(cacheDir: string, mvnPath = 'mvn'): Promise<string> {
  const dir = path.join(path.resolve(cacheDir), 's3proxy');
  const jar = path.join(dir, JAR_NAME);
  if (await exists(jar)) return jar;
  await fs.mkdir(dir, { recursive: true });
  // Download into a private directory and rename into place: parallel test workers may race
  // here, and none of them may start a JVM on a half-written jar.
  const tmpDir = await fs.mkdtemp(path.join(dir, '.download-'));
  try {
    const { code, output } = await run(mvnPath, [
      '-q',
      '-B',
      'dependency:copy',
      `-Dartifact=${ARTIFACT}`,
      `-DoutputDirectory=${tmpDir}`,
    ]).catch((err: Error) => {
      throw new Error(`${err.message}: Maven is needed once, to fetch S3Proxy into ${dir}`, { cause: err });
    });
    const fetched = path.join(tmpDir, JAR_NAME);
    if (code !== 0 || !(await exists(fetched))) {
      throw new Error(`fetching S3Proxy with Maven failed (exit ${code}):\n${tail(stripAnsi(output), 30)}`);
    }
    await fs.rename(fetched, jar);
    return jar;
  } finally {
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}

export async function startS3Proxy(options: S3ProxyOptions): Promise<S3ProxyHandle> {
  const accessKey = options.accessKey ?? 'weir-local';
  const secretKey = options.secretKey ?? 'weir-local-secret';
  if (!accessKey || !secretKey) throw new Error('S3Proxy needs a non-empty access key and secret');
  const t0 = Date.now();
  const jar = await ensureS3ProxyJar(options.cacheDir, options.mvnPath);
  const downloadMs = Date.now() - t0;
  const dataDir = path.resolve(options.dataDir);
  await fs.mkdir(dataDir, { recursive: true });

  // filesystem-nio2 is S3Proxy's newer store (2.x); fall back to jclouds' `filesystem` if a
  // build lacks it. A port we picked can be taken between probing and binding: pick again.
  let provider = 'filesystem-nio2';
  if (options.port !== undefined) await assertPortFree(options.port);
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      const server = await launch({ ...options, jar, dataDir, port, provider, accessKey, secretKey });
      return { ...server, timings: { downloadMs, readyMs: Date.now() - t0 - downloadMs } };
    } catch (err) {
      const log = (err as LaunchError).log ?? '';
      if (provider === 'filesystem-nio2' && /not in the list of providers or apis/.test(log)) {
        provider = 'filesystem';
      } else if (options.port === undefined && attempt < 3 && BIND_FAILURE.test(log)) {
        // retry on another port
      } else {
        throw err;
      }
    }
  }
}

const BIND_FAILURE = /Failed to bind|BindException|Address already in use/;

interface LaunchError extends Error {
  log?: string;
}

interface LaunchOptions extends S3ProxyOptions {
  jar: string;
  dataDir: string;
  port: number;
  provider: string;
  accessKey: string;
  secretKey: string;
}

async function launch(o: LaunchOptions): Promise<Omit<S3ProxyHandle, 'timings'>> {
  const endpoint = `http://127.0.0.1:${o.port}`;
  const confDir = await fs.mkdtemp(path.join(os.tmpdir(), 'weir-s3proxy-'));
  const confFile = path.join(confDir, 's3proxy.properties');
  const props: Record<string, string> = {
    's3proxy.endpoint': endpoint,
    's3proxy.authorization': 'aws-v2-or-v4',
    's3proxy.identity': o.accessKey,
    's3proxy.credential': o.secretKey,
    'jclouds.provider': o.provider,
    // The filesystem providers ignore these, but S3Proxy refuses to start without them.
    'jclouds.identity': o.accessKey,
    'jclouds.credential': o.secretKey,
    'jclouds.filesystem.basedir': o.dataDir,
  };
  await fs.writeFile(
    confFile,
    Object.entries(props)
      .map(([k, v]) => `${k}=${escapeProperty(v)}\n`)
      .join(''),
    { mode: 0o600 }, // holds the secret
  );

  const lines: string[] = [];
  // Readiness needs proof that *this* JVM owns the port: if another server already listens
  // there, ListBuckets succeeds against it long before this JVM fails to bind and exits.
  // (Relies on Jetty's INFO line; a format change shows up as a startup timeout with the log.)
  // 4.x shades Jetty: `Started ogsoejs.ServerConnector@…` where 2.x logged `Started ServerConnector@…`.
  const startedOnPort = new RegExp(`Started \\S*ServerConnector@.*\\{127\\.0\\.0\\.1:${o.port}\\}`);
  let bound = false;
  let bindFailed = false;
  const child = spawn(
    o.javaPath ?? 'java',
    [
      // Small, quick-starting JVM: ~110 MB RSS is enough, and C1-only JIT cut time-to-ready
      // from ~1.7 s to ~1.4 s on a 2-core box; a test server never runs long enough for C2 to pay.
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      // logback prints ~40 lines of its own configuration status at startup; S3Proxy's log stays.
      '-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener',
      '-jar',
      o.jar,
      '--properties',
      confFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  collectLines(child, lines, (line) => {
    if (startedOnPort.test(line)) bound = true;
    if (BIND_FAILURE.test(line)) bindFailed = true;
  });
  let exitState: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitState ??= { code, signal };
      resolve();
    });
    // spawn failures (java not on PATH) emit 'error' and no 'exit'.
    child.once('error', (error) => {
      exitState ??= { code: null, signal: null, error };
      resolve();
    });
  });
  // A test runner that exits without stop() must not leave a JVM behind.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  // S3Proxy reads the file once at startup; removing it early keeps the secret off the disk and
  // leaves nothing behind if this process dies without stop().
  const removeConf = () => fs.rm(confDir, { recursive: true, force: true });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
        if (!(await settlesWithin(exited, 5_000))) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      process.removeListener('exit', killOnExit);
      await removeConf();
    })());

  const logTail = () => tail(lines.join('\n'), 40);
  const fail = async (why: string): Promise<never> => {
    await stop();
    const err: LaunchError = new Error(`S3Proxy ${S3PROXY_VERSION} on ${endpoint} ${why}\n--- log tail ---\n${logTail()}`);
    err.log = lines.join('\n');
    throw err;
  };

  // Wait for a real S3 call, not for the port: Jetty listens a little before S3Proxy serves.
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: o.accessKey, secretAccessKey: o.secretKey },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
  });
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  let lastError = 'no attempt';
  try {
    while (true) {
      const state = exitState;
      if (state) {
        if (state.error) return await fail(`could not be started (${o.javaPath ?? 'java'}: ${state.error.message}); S3Proxy needs Java 17+`);
        return await fail(`exited during startup (code ${state.code}, signal ${state.signal})`);
      }
      if (bindFailed) return await fail(`could not bind 127.0.0.1:${o.port}`);
      if (!bound) {
        if (Date.now() > deadline) return await fail(`did not start listening within ${o.readyTimeoutMs ?? 60_000} ms`);
        await delay(50);
        continue;
      }
      try {
        await client.send(new ListBucketsCommand({}));
        break;
      } catch (err) {
        lastError = `${(err as Error).name}: ${(err as Error).message}`;
        // A wrong key is a configuration error that waiting will not fix.
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) {
          return await fail(`rejected the credentials: ${lastError}`);
        }
      }
      if (Date.now() > deadline) return await fail(`did not answer ListBuckets within ${o.readyTimeoutMs ?? 60_000} ms (last error: ${lastError})`);
      await delay(100);
    }
  } finally {
    client.destroy();
    await removeConf();
  }

  return { endpoint, accessKey: o.accessKey, secretKey: o.secretKey, pid: child.pid as number, logTail, stop };
}

/** Keeps the last lines of output; the pipes must be drained anyway or the JVM blocks on a full pipe. */
function collectLines(child: ChildProcess, lines: string[], onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      parts.forEach(onLine);
      lines.push(...parts);
      if (lines.length > 400) lines.splice(0, lines.length - 200);
    });
    stream?.on('end', () => {
      if (partial) {
        onLine(partial);
        lines.push(partial);
      }
    });
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (err) => reject(new Error(`cannot run ${cmd}: ${err.message}`, { cause: err })));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Java properties values: backslash is the escape character; keep values on one line. */
function escapeProperty(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/^\s/, (c) => `\\${c}`);
}

async function assertPortFree(port: number): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  } catch (err) {
    throw new Error(`cannot start S3Proxy on 127.0.0.1:${port}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).size > 0;
  } catch {
    return false;
  }
}

/** Unlike a bare race with a timer, leaves no timer behind to hold the process open. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
