/** The gateway's configuration, parsed once at start-up; a production start without a JWT secret fails fast. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Duration } from '@temporalio/common';
import { ConfigError, readInteger, readPort, temporalConfig, type TemporalConfig } from '../lib/config';

export const MIN_JWT_SECRET_LENGTH = 32;

export interface GatewayConfig {
  port: number;
  temporal: TemporalConfig;
  jwtSecret: string;
  jwtExpiresInSeconds: number;
  corsOrigins: string[];
  loginRateLimit: { limit: number; windowMs: number };
  logLevel: string;
  /** How often an order whose undo failed for a non-transient reason retries it by itself. */
  compensationRetryInterval: Duration;
}

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

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const production = env.NODE_ENV === 'production';
  let jwtSecret = env.JWT_SECRET ?? '';
  if (!jwtSecret) {
    if (production) throw new ConfigError('JWT_SECRET must be set in production');
    jwtSecret = developmentSecret(env.DATA_DIR || path.resolve(__dirname, '..', '.data'));
  }
  if (jwtSecret.length < MIN_JWT_SECRET_LENGTH) {
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
  return {
    port: readPort(env),
    temporal: temporalConfig(env),
    jwtSecret,
    jwtExpiresInSeconds: readInteger('JWT_EXPIRES_IN_SECONDS', 3600, env),
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    loginRateLimit: {
      limit: readInteger('LOGIN_RATE_LIMIT', 10, env),
      windowMs: readInteger('LOGIN_RATE_WINDOW_MS', 60_000, env),
    },
    logLevel: env.LOG_LEVEL || 'info',
    compensationRetryInterval: `${readInteger('COMPENSATION_RETRY_INTERVAL_SECONDS', 600, env)}s`,
  };
}
