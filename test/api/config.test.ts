/** The gateway's configuration: parsed once, failing fast; production never runs without its own JWT secret. */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadGatewayConfig, MIN_JWT_SECRET_LENGTH } from '../../api/config';
import { ConfigError } from '../../lib/config';

const SECRET = 's'.repeat(MIN_JWT_SECRET_LENGTH);
const dataDir = () => mkdtempSync(path.join(os.tmpdir(), 'gateway-config-'));

describe('loadGatewayConfig', () => {
  test('when NODE_ENV is production and JWT_SECRET is missing, then it refuses with a ConfigError naming JWT_SECRET', () => {
    const load = () => loadGatewayConfig({ NODE_ENV: 'production', DATA_DIR: dataDir() });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/JWT_SECRET must be set in production/);
  });

  test('when NODE_ENV is production and JWT_SECRET is empty, then it refuses too', () => {
    expect(() => loadGatewayConfig({ NODE_ENV: 'production', JWT_SECRET: '' })).toThrow(/JWT_SECRET/);
  });

  test('when JWT_SECRET is shorter than 32 characters, then it refuses in any environment', () => {
    expect(() => loadGatewayConfig({ NODE_ENV: 'production', JWT_SECRET: 'short' })).toThrow(/at least 32/);
    expect(() => loadGatewayConfig({ JWT_SECRET: 'short' })).toThrow(/at least 32/);
  });

  test('when NODE_ENV is production and JWT_SECRET is set, then that secret is used', () => {
    expect(loadGatewayConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }).jwtSecret).toBe(SECRET);
  });

  test('when not in production and JWT_SECRET is missing, then a random secret is kept in the data folder and reused', () => {
    const folder = dataDir();

    const first = loadGatewayConfig({ DATA_DIR: folder });
    const second = loadGatewayConfig({ DATA_DIR: folder });
    const elsewhere = loadGatewayConfig({ DATA_DIR: dataDir() });

    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(MIN_JWT_SECRET_LENGTH);
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(readFileSync(path.join(folder, 'dev-jwt-secret'), 'utf8')).toBe(first.jwtSecret);
    expect(elsewhere.jwtSecret).not.toBe(first.jwtSecret);
  });

  test('when nothing else is set, then port 3000, CORS off, 10 logins a minute and one-hour tokens', () => {
    expect(loadGatewayConfig({ JWT_SECRET: SECRET })).toMatchObject({
      port: 3000,
      corsOrigins: [],
      loginRateLimit: { limit: 10, windowMs: 60_000 },
      jwtExpiresInSeconds: 3600,
      logLevel: 'info',
    });
  });

  test('when CORS_ORIGINS lists origins, then they are trimmed and empty entries dropped', () => {
    const config = loadGatewayConfig({
      JWT_SECRET: SECRET,
      CORS_ORIGINS: ' https://shop.example , ,http://localhost:5173',
    });

    expect(config.corsOrigins).toEqual(['https://shop.example', 'http://localhost:5173']);
  });

  test('when a number is not a positive integer, then it refuses naming the variable', () => {
    expect(() => loadGatewayConfig({ JWT_SECRET: SECRET, PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadGatewayConfig({ JWT_SECRET: SECRET, LOGIN_RATE_LIMIT: '-1' })).toThrow(/LOGIN_RATE_LIMIT/);
    expect(() => loadGatewayConfig({ JWT_SECRET: SECRET, JWT_EXPIRES_IN_SECONDS: '1.5' })).toThrow(
      /JWT_EXPIRES_IN_SECONDS/,
    );
  });
});
