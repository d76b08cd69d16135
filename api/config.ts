/**
 * The gateway's configuration, parsed once at start-up; a production start without a JWT secret or payload keys
 * fails fast.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Duration } from '@temporalio/common';
import { z } from 'zod';
import {
  COMPENSATION_RETRY_INTERVAL_SECONDS,
  ConfigError,
  DATA_DIR,
  GATEWAY_METRICS_PORT,
  LOG_LEVEL,
  NODE_ENV,
  OTLP_ENDPOINT,
  PAYLOAD_KEY_VARIABLE_LIST,
  PORT,
  TEMPORAL_UI_URL,
  TEMPORAL_VARIABLES,
  databaseVariables,
  defaultDataDir,
  loadDatabaseSettings,
  loadPayloadKeys,
  loadTemporalSettings,
  positiveInteger,
  readAll,
  readVariables,
  variable,
  type ConfigKind,
  type DatabaseSettings,
  type Env,
  type LogLevel,
  type TemporalSettings,
} from '../lib/config';
import type { PayloadKeys } from '../lib/payload-codec';
import { developmentSecret } from '../lib/secrets';
import { SERVICE_NAMES, type ServiceName } from '../lib/services';

export const MIN_JWT_SECRET_LENGTH = 32;
/** The longest access token lifetime the gateway issues or accepts: a stolen token is worth a day at most. */
export const MAX_JWT_EXPIRES_IN_SECONDS = 86_400;
export const DEFAULT_JWT_AUDIENCE = 'order-saga-api';

/** A request limit: at most `limit` requests per key within `windowMs`. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** What one customer may hold and do on the order flow (see the README's "Abuse limits"). */
export interface OrderLimits {
  /** Orders not yet COMPLETED or CANCELLED per customer; each holds stock and, at most, one payment slot. */
  maxOpenOrders: number;
  maxUnitsPerLine: number;
  /** POST /orders per customer. */
  rate: RateLimit;
  /** Whether test card tokens that hang the card gateway (tok_timeout) are accepted: never in production. */
  allowHangingTestCards: boolean;
}

/** Express's 'trust proxy': off, a hop count, or the addresses and subnets of the proxies in front. */
export type TrustProxy = false | number | string[];

/** Where the rate limits keep their counts: per process, or in the user database, shared by every replica. */
export const RATE_LIMIT_STORES = ['memory', 'postgres'] as const;
export type RateLimitStoreKind = (typeof RATE_LIMIT_STORES)[number];

export interface GatewayConfig {
  port: number;
  temporal: TemporalSettings & { uiUrl: string };
  databases: Record<ServiceName, DatabaseSettings>;
  jwtSecret: string;
  jwtExpiresInSeconds: number;
  jwtAudience: string;
  corsOrigins: string[];
  /** The keys of the Temporal payloads: the saga client encrypts with them, the codec endpoint decrypts. */
  payloadKeys: PayloadKeys;
  /** Origins allowed to call the codec endpoint from a browser (the Temporal Web UI's). */
  codecCorsOrigins: string[];
  /** Login attempts per client address. */
  loginRateLimit: RateLimit;
  /** Failed login attempts per account (lower-cased, trimmed email). */
  loginAccountRateLimit: RateLimit;
  /** Sign-ups per client address. */
  signUpRateLimit: RateLimit;
  orderLimits: OrderLimits;
  trustProxy: TrustProxy;
  rateLimitStore: RateLimitStoreKind;
  logLevel: LogLevel;
  /** Port of `GET /metrics`; 0 when off. */
  metricsPort: number;
  /** How often an order whose undo failed for a non-transient reason retries it by itself. */
  compensationRetryInterval: Duration;
  /** Where traces go; undefined when tracing is off. */
  otlpEndpoint: string | undefined;
}

function originOf(url: string): string[] {
  return URL.canParse(url) ? [new URL(url).origin] : [];
}

/** A comma-separated list of origins; empty when unset. */
function originList(): z.ZodType<string[]> {
  return z
    .string()
    .optional()
    .transform((raw) =>
      (raw ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    );
}

/** The gateway's own variables, beside the Temporal and database ones. */
export const GATEWAY_VARIABLES = {
  port: PORT,
  nodeEnv: NODE_ENV,
  jwtSecret: variable(
    'JWT_SECRET',
    z.string().optional(),
    'random, kept in `.data/secrets/dev-jwt-secret` (not in production)',
    `HS256 signing secret, at least ${MIN_JWT_SECRET_LENGTH} characters; **required** when \`NODE_ENV=production\``,
    { secret: true },
  ),
  dataDir: DATA_DIR,
  jwtExpiresInSeconds: variable(
    'JWT_EXPIRES_IN_SECONDS',
    positiveInteger(3600).refine((seconds) => seconds <= MAX_JWT_EXPIRES_IN_SECONDS, {
      message: `must be at most ${MAX_JWT_EXPIRES_IN_SECONDS} (24 hours)`,
    }),
    '`3600`',
    `access token lifetime, at most ${MAX_JWT_EXPIRES_IN_SECONDS}; a token claiming a longer one is refused`,
  ),
  jwtAudience: variable(
    'JWT_AUDIENCE',
    z.string().optional().default(DEFAULT_JWT_AUDIENCE),
    `\`${DEFAULT_JWT_AUDIENCE}\``,
    '`aud` of the tokens the gateway issues; a token for another audience is refused',
  ),
  corsOrigins: variable('CORS_ORIGINS', originList(), 'empty (CORS off)', 'comma-separated allowed origins'),
  codecCorsOrigins: variable(
    'CODEC_CORS_ORIGINS',
    originList(),
    'the origin of `TEMPORAL_UI_URL`',
    'comma-separated origins whose pages may call the codec endpoint (`/codec/*`) with credentials: the Temporal Web UI',
  ),
  loginRateLimit: variable(
    'LOGIN_RATE_LIMIT',
    positiveInteger(10),
    '`10`',
    'login attempts per client address and window',
  ),
  loginRateWindowMs: variable(
    'LOGIN_RATE_WINDOW_MS',
    positiveInteger(60_000),
    '`60000`',
    'the window of both login limits',
  ),
  loginAccountRateLimit: variable(
    'LOGIN_ACCOUNT_RATE_LIMIT',
    positiveInteger(10),
    '`10`',
    'failed login attempts per account (lower-cased, trimmed email) and window, from any address',
  ),
  signUpRateLimit: variable('SIGNUP_RATE_LIMIT', positiveInteger(10), '`10`', 'sign-ups per client address and window'),
  signUpRateWindowMs: variable(
    'SIGNUP_RATE_WINDOW_MS',
    positiveInteger(3_600_000),
    '`3600000`',
    'the sign-up rate window',
  ),
  maxOpenOrders: variable(
    'ORDER_MAX_OPEN_PER_CUSTOMER',
    positiveInteger(5),
    '`5`',
    'orders of one customer that have not ended (not `COMPLETED` or `CANCELLED`); more get `429 TOO_MANY_OPEN_ORDERS`',
  ),
  maxUnitsPerLine: variable(
    'ORDER_MAX_UNITS_PER_LINE',
    positiveInteger(100),
    '`100`',
    'largest `quantity` of one order line; more gets `422 ORDER_LINE_RULES`',
  ),
  orderRateLimit: variable(
    'ORDER_RATE_LIMIT',
    positiveInteger(30),
    '`30`',
    '`POST /orders` per customer and window; more get `429 TOO_MANY_REQUESTS`',
  ),
  orderRateWindowMs: variable('ORDER_RATE_WINDOW_MS', positiveInteger(60_000), '`60000`', 'the order rate window'),
  trustProxy: variable(
    'TRUST_PROXY',
    z
      .string()
      .optional()
      .transform((raw, context) => parseTrustProxy(raw, (message) => context.addIssue({ code: 'custom', message }))),
    "off: the client address is the connection's",
    'proxies in front of the gateway whose `X-Forwarded-For` is believed: a hop count, or comma-separated addresses or subnets (`loopback`, `10.0.0.0/8`)',
  ),
  rateLimitStore: variable(
    'RATE_LIMIT_STORE',
    z.enum(RATE_LIMIT_STORES).optional().default('memory'),
    '`memory`',
    '`postgres` keeps the rate limit counts in the user database, shared by every gateway replica',
  ),
  logLevel: LOG_LEVEL,
  metricsPort: GATEWAY_METRICS_PORT,
  uiUrl: TEMPORAL_UI_URL,
  compensationRetryIntervalSeconds: COMPENSATION_RETRY_INTERVAL_SECONDS,
  otlpEndpoint: OTLP_ENDPOINT,
};

/** The gateway kind: it talks to Temporal and opens every service's database (reads, admin edits, /health). */
export const GATEWAY_KIND: ConfigKind = {
  readBy: 'gateway',
  variables: [
    ...Object.values(GATEWAY_VARIABLES),
    ...Object.values(TEMPORAL_VARIABLES),
    ...PAYLOAD_KEY_VARIABLE_LIST,
    ...databaseVariables(SERVICE_NAMES),
  ],
};

/** Named subnets Express's 'trust proxy' understands. */
const NAMED_SUBNETS = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrSubnet(entry: string): boolean {
  if (NAMED_SUBNETS.includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address ?? '');
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (version === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY as Express takes it. `true` (trust every hop) is refused: anyone could then name any address in
 * X-Forwarded-For and reset the per-address limits at will.
 */
export function parseTrustProxy(raw: string | undefined, refuse: (message: string) => void): TrustProxy {
  const value = raw?.trim() ?? '';
  if (value === '' || value === 'false' || value === '0') return false;
  if (/^\d+$/.test(value)) return Number(value);
  if (value === 'true') {
    refuse('must be a hop count or a list of proxy addresses, not true (every client could then pick its address)');
    return false;
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !isAddressOrSubnet(entry));
  if (bad.length > 0) refuse(`has entries that are neither a hop count, an address nor a subnet: ${bad.join(', ')}`);
  return entries;
}

/** The development JWT secret's file inside `$DATA_DIR/secrets` (lib/secrets.ts says how it is guarded). */
export { DEV_SECRET_FOLDER } from '../lib/secrets';
export const DEV_SECRET_FILE = 'dev-jwt-secret';

function jwtSecretOf(values: { nodeEnv?: string; jwtSecret?: string; dataDir?: string }): string {
  let secret = values.jwtSecret ?? '';
  if (!secret) {
    if (values.nodeEnv === 'production') throw new ConfigError('JWT_SECRET must be set in production');
    secret = developmentSecret({
      dataDir: values.dataDir ?? defaultDataDir(),
      file: DEV_SECRET_FILE,
      generate: () => randomBytes(48).toString('base64url'),
      instead: 'set JWT_SECRET',
    });
  }
  if (secret.length < MIN_JWT_SECRET_LENGTH) {
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
  return secret;
}

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  const { values, temporal, databases, payloadKeys, jwtSecret } = readAll((read) => {
    const variables = read(() => readVariables(GATEWAY_VARIABLES, env));
    return {
      values: variables,
      temporal: read(() => loadTemporalSettings(env)),
      databases: read(() => loadDatabaseSettings(SERVICE_NAMES, env)),
      payloadKeys: read(() => loadPayloadKeys(env)),
      jwtSecret: variables ? read(() => jwtSecretOf(variables)) : '',
    };
  });
  return {
    port: values.port,
    temporal: { ...temporal, uiUrl: values.uiUrl },
    databases,
    jwtSecret,
    jwtExpiresInSeconds: values.jwtExpiresInSeconds,
    jwtAudience: values.jwtAudience,
    corsOrigins: values.corsOrigins,
    payloadKeys,
    codecCorsOrigins: values.codecCorsOrigins.length > 0 ? values.codecCorsOrigins : originOf(values.uiUrl),
    loginRateLimit: { limit: values.loginRateLimit, windowMs: values.loginRateWindowMs },
    loginAccountRateLimit: { limit: values.loginAccountRateLimit, windowMs: values.loginRateWindowMs },
    signUpRateLimit: { limit: values.signUpRateLimit, windowMs: values.signUpRateWindowMs },
    orderLimits: {
      maxOpenOrders: values.maxOpenOrders,
      maxUnitsPerLine: values.maxUnitsPerLine,
      rate: { limit: values.orderRateLimit, windowMs: values.orderRateWindowMs },
      allowHangingTestCards: values.nodeEnv !== 'production',
    },
    trustProxy: values.trustProxy,
    rateLimitStore: values.rateLimitStore,
    logLevel: values.logLevel,
    metricsPort: values.metricsPort,
    compensationRetryInterval: `${values.compensationRetryIntervalSeconds}s`,
    otlpEndpoint: values.otlpEndpoint,
  };
}
