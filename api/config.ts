/** The gateway's configuration, parsed once at start-up; a production start without a JWT secret fails fast. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Duration } from '@temporalio/common';
import { z } from 'zod';
import {
  COMPENSATION_RETRY_INTERVAL_SECONDS,
  ConfigError,
  DATA_DIR,
  NODE_ENV,
  PORT,
  TEMPORAL_UI_URL,
  TEMPORAL_VARIABLES,
  databaseVariables,
  loadDatabaseSettings,
  loadTemporalSettings,
  positiveInteger,
  readAll,
  readVariables,
  variable,
  type ConfigKind,
  type DatabaseSettings,
  type Env,
  type TemporalSettings,
} from '../lib/config';
import { SERVICE_NAMES, type ServiceName } from '../lib/services';

export const MIN_JWT_SECRET_LENGTH = 32;

export interface GatewayConfig {
  port: number;
  temporal: TemporalSettings & { uiUrl: string };
  databases: Record<ServiceName, DatabaseSettings>;
  jwtSecret: string;
  jwtExpiresInSeconds: number;
  corsOrigins: string[];
  loginRateLimit: { limit: number; windowMs: number };
  logLevel: string;
  /** How often an order whose undo failed for a non-transient reason retries it by itself. */
  compensationRetryInterval: Duration;
}

/** The gateway's own variables, beside the Temporal and database ones. */
export const GATEWAY_VARIABLES = {
  port: PORT,
  nodeEnv: NODE_ENV,
  jwtSecret: variable(
    'JWT_SECRET',
    z.string().optional(),
    'random, kept in `.data/dev-jwt-secret` (not in production)',
    `HS256 signing secret, at least ${MIN_JWT_SECRET_LENGTH} characters; **required** when \`NODE_ENV=production\``,
    { secret: true },
  ),
  dataDir: DATA_DIR,
  jwtExpiresInSeconds: variable('JWT_EXPIRES_IN_SECONDS', positiveInteger(3600), '`3600`', 'access token lifetime'),
  corsOrigins: variable(
    'CORS_ORIGINS',
    z
      .string()
      .optional()
      .transform((raw) =>
        (raw ?? '')
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      ),
    'empty (CORS off)',
    'comma-separated allowed origins',
  ),
  loginRateLimit: variable(
    'LOGIN_RATE_LIMIT',
    positiveInteger(10),
    '`10`',
    'login attempts per client address and window',
  ),
  loginRateWindowMs: variable('LOGIN_RATE_WINDOW_MS', positiveInteger(60_000), '`60000`', 'the login rate window'),
  logLevel: variable('LOG_LEVEL', z.string().optional().default('info'), '`info`', 'pino log level'),
  uiUrl: TEMPORAL_UI_URL,
  compensationRetryIntervalSeconds: COMPENSATION_RETRY_INTERVAL_SECONDS,
};

/** The gateway kind: it talks to Temporal and opens every service's database (reads, admin edits, /health). */
export const GATEWAY_KIND: ConfigKind = {
  readBy: 'gateway',
  variables: [
    ...Object.values(GATEWAY_VARIABLES),
    ...Object.values(TEMPORAL_VARIABLES),
    ...databaseVariables(SERVICE_NAMES),
  ],
};

/**
 * Outside production a missing JWT_SECRET is replaced by a random one kept in the git-ignored data folder,
 * so tokens survive restarts on a developer machine and no usable secret is ever committed.
 */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'dev-jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

function jwtSecretOf(values: { nodeEnv?: string; jwtSecret?: string; dataDir?: string }): string {
  let secret = values.jwtSecret ?? '';
  if (!secret) {
    if (values.nodeEnv === 'production') throw new ConfigError('JWT_SECRET must be set in production');
    secret = developmentSecret(values.dataDir ?? path.resolve(__dirname, '..', '.data'));
  }
  if (secret.length < MIN_JWT_SECRET_LENGTH) {
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
  return secret;
}

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  const { values, temporal, databases } = readAll((read) => ({
    values: read(() => readVariables(GATEWAY_VARIABLES, env)),
    temporal: read(() => loadTemporalSettings(env)),
    databases: read(() => loadDatabaseSettings(SERVICE_NAMES, env)),
  }));
  return {
    port: values.port,
    temporal: { ...temporal, uiUrl: values.uiUrl },
    databases,
    jwtSecret: jwtSecretOf(values),
    jwtExpiresInSeconds: values.jwtExpiresInSeconds,
    corsOrigins: values.corsOrigins,
    loginRateLimit: { limit: values.loginRateLimit, windowMs: values.loginRateWindowMs },
    logLevel: values.logLevel,
    compensationRetryInterval: `${values.compensationRetryIntervalSeconds}s`,
  };
}
