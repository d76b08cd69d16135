/**
 * Configuration shared by every process, read from the environment once and validated at start-up.
 * Defaults are the embedded ones `npm start` brings up, so nothing needs setting on a developer machine.
 */
export const SERVICES = ['user', 'item', 'coupon', 'payment', 'order'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const DEFAULT_POSTGRES_PORT = 54329;
export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_TEMPORAL_UI_PORT = 8233;

export class ConfigError extends Error {
  constructor(message: string) {
    super(`Invalid configuration: ${message}`);
    this.name = 'ConfigError';
  }
}

function readInteger(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

export function databaseUrlVariable(service: ServiceName): string {
  return `${service.toUpperCase()}_DATABASE_URL`;
}

/** The embedded PostgreSQL's URL for a service's database. */
export function embeddedDatabaseUrl(service: ServiceName, port: number): string {
  return `postgresql://postgres:postgres@127.0.0.1:${port}/${service}`;
}

export function databaseUrl(service: ServiceName, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[databaseUrlVariable(service)];
  if (explicit) {
    try {
      new URL(explicit);
    } catch {
      throw new ConfigError(`${databaseUrlVariable(service)} is not a valid URL`);
    }
    return explicit;
  }
  return embeddedDatabaseUrl(service, readInteger('EMBEDDED_POSTGRES_PORT', DEFAULT_POSTGRES_PORT, env));
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  uiUrl: string;
}

export function temporalConfig(env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  return {
    address: env.TEMPORAL_ADDRESS || `127.0.0.1:${DEFAULT_TEMPORAL_PORT}`,
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    uiUrl: (env.TEMPORAL_UI_URL || `http://localhost:${DEFAULT_TEMPORAL_UI_PORT}`).replace(/\/$/, ''),
  };
}

export function readPort(env: NodeJS.ProcessEnv = process.env): number {
  return readInteger('PORT', 3000, env);
}

export { readInteger };
