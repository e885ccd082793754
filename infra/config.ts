/**
 * Configuration from the environment, parsed once at the edge (DESIGN.md section 8).
 * Only this module and the `main.ts` entry points read `process.env`.
 */
import path from 'node:path';
import { z } from 'zod';
import { invalidCidrs } from '../schemas/cidr';
import { DEFAULT_KEY_GRACE_SECONDS } from './apps/app-registry';
import { topicNames, type Topics } from '../schemas/topics';
import { SASL_MECHANISMS, type KafkaSecurity } from './kafka/security';

/** REPORT_CACHE_MB when unset: rows of a few 30-day reports of 10^5 rows. */
export const DEFAULT_REPORT_CACHE_MB = 64;

const int = (def: number) => z.coerce.number().int().positive().default(def);
const list = z
  .string()
  .optional()
  .transform((s) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean));

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  // unset (or empty): admin and /metrics on PORT; 0: any free port (tests)
  INTERNAL_PORT: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).max(65535).optional()),
  INTERNAL_HOST: z.string().optional(), // unset: HOST
  DATA_DIR: z.string().default('./.weir'),
  KAFKA_BROKERS: list, // empty: start the local broker
  CLICKHOUSE_URL: z.url().optional(), // unset: embedded chDB in DATA_DIR
  CLICKHOUSE_USER: z.string().optional(),
  CLICKHOUSE_PASSWORD: z.string().optional(),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('weir'),
  OBJECT_STORE_URL: z.string().optional(), // unset: file://$DATA_DIR/archive
  S3_ENDPOINT: z.string().optional(),
  AWS_REGION: z.string().optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must have at least 16 characters').optional(),
  IP_BLOCKLIST: list,
  KEY_GRACE_SECONDS: z.coerce.number().int().min(0).default(DEFAULT_KEY_GRACE_SECONDS),
  TRUSTED_PROXIES: list, // empty: the client ip is the socket's peer address
  // Rule 2 allows 1–30 days (DESIGN.md section 4): a batch run reads clicks that far back.
  LOOKBACK_DAYS: z.coerce.number().int().min(1).max(30).default(7),
  DEDUP_HORIZON_DAYS: z.coerce.number().int().min(1).max(30).default(7),
  SPEED_RETENTION_DAYS: z.coerce.number().int().min(0).default(7),
  ARCHIVE_RETENTION_DAYS: z.coerce.number().int().positive().optional(), // unset: forever
  BATCH_CRON: z.string().default('15 0 * * *'),
  BATCH_GRACE_MINUTES: z.coerce.number().int().min(0).default(15),
  RECOMPUTE_DAYS: z.coerce.number().int().min(0).max(31).default(2),
  MAX_BODY_BYTES: int(1_048_576),
  MAX_BATCH_EVENTS: int(1000),
  RATE_LIMIT_EVENTS_PER_S: int(100_000),
  RATE_LIMIT_REQUESTS_PER_S: int(50),
  MAX_STREAMS_PER_KEY: int(10),
  MAX_REPORT_DAYS_HOURLY: int(31),
  MAX_REPORT_DAYS_DAILY: int(400),
  MAX_REPORT_ROWS: int(10_000),
  CORS_ORIGINS: list,
  REPORT_CACHE_MB: z.coerce.number().int().min(0).default(DEFAULT_REPORT_CACHE_MB),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_EVENTS_PARTITIONS: int(6),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default(''),
  KAFKA_SSL: z.enum(['true', 'false', '1', '0', '']).optional(),
  KAFKA_SSL_CA_FILE: z.string().optional(),
  KAFKA_SASL_MECHANISM: z.enum(SASL_MECHANISMS).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
});

/** Every environment variable weir reads (deploy files are checked against it: scripts/check-deploy.ts). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(Env.shape);

export interface Config {
  /** `internal` (INTERNAL_PORT, INTERNAL_HOST): where `/metrics` and `/v1/admin/*` are served instead of `port`. */
  http: { port: number; host: string; internal?: { port: number; host: string } };
  dataDir: string;
  kafka: { brokers: string[] | undefined; eventsPartitions: number; topics: Topics; security: KafkaSecurity };
  clickhouse: { url: string | undefined; user?: string; password?: string; database: string };
  objectStore: {
    url: string;
    s3: { endpoint?: string; region?: string; accessKeyId?: string; secretAccessKey?: string };
  };
  adminToken: string | undefined;
  /** KEY_GRACE_SECONDS: how long a rotated key keeps working beside its successor. */
  keyGraceSeconds: number;
  ipBlocklist: string[];
  /** TRUSTED_PROXIES: CIDRs whose X-Forwarded-For (rightmost untrusted hop) gives the client ip; empty: the socket address. */
  trustedProxies: string[];
  lookbackDays: number;
  /** DEDUP_HORIZON_DAYS: copies of an event received further apart are two events. */
  dedupHorizonDays: number;
  batch: { cron: string; graceMinutes: number; recomputeDays: number };
  /** SPEED_RETENTION_DAYS after batch covered a day its speed views are dropped; ARCHIVE_RETENTION_DAYS (unset: forever). */
  retention: { speedDays: number; archiveDays: number | undefined };
  limits: {
    maxBodyBytes: number;
    maxBatchEvents: number;
    rateEventsPerS: number;
    rateRequestsPerS: number;
    /** Live streams (SSE) one read key may hold open at once. */
    maxStreamsPerKey: number;
    maxReportDaysHourly: number;
    maxReportDaysDaily: number;
    maxReportRows: number;
  };
  /** Origins allowed to call the read API from a browser ('*': any; empty: none). */
  corsOrigins: string[];
  /** Memory for rendered report rows per day, kept while the day's views are unchanged (serving/reports/segment-cache.ts); 0: no cache. */
  reportCacheMb: number;
  logLevel: string;
}

export class ConfigError extends Error {}

function kafkaSecurity(e: z.infer<typeof Env>): KafkaSecurity {
  const ssl = e.KAFKA_SSL === 'true' || e.KAFKA_SSL === '1';
  if (e.KAFKA_SSL_CA_FILE && !ssl) throw new ConfigError('KAFKA_SSL_CA_FILE is set but KAFKA_SSL is not true');
  const credentials = e.KAFKA_SASL_USERNAME !== undefined || e.KAFKA_SASL_PASSWORD !== undefined;
  if (!e.KAFKA_SASL_MECHANISM) {
    if (credentials) throw new ConfigError(`KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD need KAFKA_SASL_MECHANISM (${SASL_MECHANISMS.join(', ')})`);
    return ssl ? { ssl: { caFile: e.KAFKA_SSL_CA_FILE } } : {};
  }
  if (!e.KAFKA_SASL_USERNAME || e.KAFKA_SASL_PASSWORD === undefined) {
    throw new ConfigError('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
  }
  const sasl = { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME, password: e.KAFKA_SASL_PASSWORD };
  return ssl ? { ssl: { caFile: e.KAFKA_SSL_CA_FILE }, sasl } : { sasl };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const r = Env.safeParse(env);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`);
  }
  const e = r.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const objectUrl = e.OBJECT_STORE_URL ?? `file://${path.join(dataDir, 'archive')}`;
  if (e.INTERNAL_PORT !== undefined && e.INTERNAL_PORT !== 0 && e.INTERNAL_PORT === e.PORT) {
    throw new ConfigError(`INTERNAL_PORT must differ from PORT (${e.PORT}): admin routes and /metrics are never served on PORT`);
  }
  if (e.INTERNAL_HOST !== undefined && e.INTERNAL_PORT === undefined) throw new ConfigError('INTERNAL_HOST is set but INTERNAL_PORT is not');
  const badProxies = invalidCidrs(e.TRUSTED_PROXIES);
  if (badProxies.length) throw new ConfigError(`TRUSTED_PROXIES has invalid CIDR(s): ${badProxies.join(', ')}`);
  if (!/^(file|s3):\/\//.test(objectUrl)) throw new ConfigError(`OBJECT_STORE_URL must start with file:// or s3://, got ${objectUrl}`);
  return {
    http: {
      port: e.PORT,
      host: e.HOST,
      internal: e.INTERNAL_PORT === undefined ? undefined : { port: e.INTERNAL_PORT, host: e.INTERNAL_HOST ?? e.HOST },
    },
    dataDir,
    kafka: {
      brokers: e.KAFKA_BROKERS.length ? e.KAFKA_BROKERS : undefined,
      eventsPartitions: e.KAFKA_EVENTS_PARTITIONS,
      topics: topicNames(e.KAFKA_TOPIC_PREFIX),
      security: kafkaSecurity(e),
    },
    clickhouse: { url: e.CLICKHOUSE_URL, user: e.CLICKHOUSE_USER, password: e.CLICKHOUSE_PASSWORD, database: e.CLICKHOUSE_DATABASE },
    objectStore: {
      url: objectUrl,
      s3: { endpoint: e.S3_ENDPOINT, region: e.AWS_REGION, accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY },
    },
    adminToken: e.ADMIN_TOKEN,
    keyGraceSeconds: e.KEY_GRACE_SECONDS,
    ipBlocklist: e.IP_BLOCKLIST,
    trustedProxies: e.TRUSTED_PROXIES,
    lookbackDays: e.LOOKBACK_DAYS,
    dedupHorizonDays: e.DEDUP_HORIZON_DAYS,
    retention: { speedDays: e.SPEED_RETENTION_DAYS, archiveDays: e.ARCHIVE_RETENTION_DAYS },
    batch: { cron: e.BATCH_CRON, graceMinutes: e.BATCH_GRACE_MINUTES, recomputeDays: e.RECOMPUTE_DAYS },
    limits: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      maxBatchEvents: e.MAX_BATCH_EVENTS,
      rateEventsPerS: e.RATE_LIMIT_EVENTS_PER_S,
      rateRequestsPerS: e.RATE_LIMIT_REQUESTS_PER_S,
      maxStreamsPerKey: e.MAX_STREAMS_PER_KEY,
      maxReportDaysHourly: e.MAX_REPORT_DAYS_HOURLY,
      maxReportDaysDaily: e.MAX_REPORT_DAYS_DAILY,
      maxReportRows: e.MAX_REPORT_ROWS,
    },
    corsOrigins: e.CORS_ORIGINS,
    reportCacheMb: e.REPORT_CACHE_MB,
    logLevel: e.LOG_LEVEL,
  };
}
