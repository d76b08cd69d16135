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

  test('when nothing about Temporal or the databases is set, then the local dev server and the embedded databases', () => {
    const config = loadGatewayConfig({ JWT_SECRET: SECRET });

    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      uiUrl: 'http://localhost:8233',
      addressConfigured: false,
      connection: { address: '127.0.0.1:7233' },
    });
    expect(Object.keys(config.databases)).toEqual(['user', 'item', 'coupon', 'payment', 'order']);
    expect(config.databases.coupon.url).toBe('postgresql://postgres:postgres@127.0.0.1:54329/coupon');
  });

  test('when Temporal Cloud variables are set, then the connection carries the API key over TLS', () => {
    const config = loadGatewayConfig({
      JWT_SECRET: SECRET,
      TEMPORAL_ADDRESS: 'shop.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'shop.a1b2c',
      TEMPORAL_API_KEY: 'k-123',
      TEMPORAL_UI_URL: 'https://cloud.temporal.io/',
    });

    expect(config.temporal).toMatchObject({
      namespace: 'shop.a1b2c',
      uiUrl: 'https://cloud.temporal.io',
      connection: { address: 'shop.a1b2c.tmprl.cloud:7233', apiKey: 'k-123', tls: true },
    });
  });

  test('when values of several groups are bad, then one ConfigError names each variable', () => {
    const load = () =>
      loadGatewayConfig({ JWT_SECRET: SECRET, PORT: '0', TEMPORAL_TLS: 'maybe', ORDER_DATABASE_URL: 'nope' });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/PORT must be a positive integer.*TEMPORAL_TLS.*ORDER_DATABASE_URL is not a valid URL/);
  });
});
