/** The gateway's configuration: parsed once, failing fast; production never runs without its own JWT secret. */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEV_SECRET_FILE, DEV_SECRET_FOLDER, loadGatewayConfig, MIN_JWT_SECRET_LENGTH } from '../../api/config';
import { ConfigError } from '../../lib/config';

const SECRET = 's'.repeat(MIN_JWT_SECRET_LENGTH);
/** Payload keys as production configures them (test/fast/payload-codec.fast.test.ts covers their absence). */
const KEYS = { PAYLOAD_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}` };
const dataDir = () => mkdtempSync(path.join(os.tmpdir(), 'gateway-config-'));

describe('loadGatewayConfig', () => {
  test('when NODE_ENV is production and JWT_SECRET is missing, then it refuses with a ConfigError naming JWT_SECRET', () => {
    const load = () => loadGatewayConfig({ ...KEYS, NODE_ENV: 'production', DATA_DIR: dataDir() });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/JWT_SECRET must be set in production/);
  });

  test('when NODE_ENV is production and JWT_SECRET is empty, then it refuses too', () => {
    expect(() => loadGatewayConfig({ ...KEYS, NODE_ENV: 'production', JWT_SECRET: '' })).toThrow(/JWT_SECRET/);
  });

  test('when JWT_SECRET is shorter than 32 characters, then it refuses in any environment', () => {
    expect(() => loadGatewayConfig({ ...KEYS, NODE_ENV: 'production', JWT_SECRET: 'short' })).toThrow(/at least 32/);
    expect(() => loadGatewayConfig({ ...KEYS, JWT_SECRET: 'short' })).toThrow(/at least 32/);
  });

  test('when NODE_ENV is production and JWT_SECRET is set, then that secret is used', () => {
    expect(loadGatewayConfig({ ...KEYS, NODE_ENV: 'production', JWT_SECRET: SECRET }).jwtSecret).toBe(SECRET);
  });

  test('when not in production and JWT_SECRET is missing, then a random secret is kept in the data folder and reused', () => {
    const folder = dataDir();

    const first = loadGatewayConfig({ ...KEYS, DATA_DIR: folder });
    const second = loadGatewayConfig({ ...KEYS, DATA_DIR: folder });
    const elsewhere = loadGatewayConfig({ ...KEYS, DATA_DIR: dataDir() });

    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(MIN_JWT_SECRET_LENGTH);
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(readFileSync(path.join(folder, DEV_SECRET_FOLDER, DEV_SECRET_FILE), 'utf8')).toBe(first.jwtSecret);
    expect(elsewhere.jwtSecret).not.toBe(first.jwtSecret);
  });

  test('when the development secret is created, then its folder is 0700 and the file 0600', () => {
    const folder = dataDir();
    chmodSync(folder, 0o777);

    loadGatewayConfig({ ...KEYS, DATA_DIR: folder });

    expect(statSync(path.join(folder, DEV_SECRET_FOLDER)).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(folder, DEV_SECRET_FOLDER, DEV_SECRET_FILE)).mode & 0o777).toBe(0o600);
  });

  test('when the secret or its folder is open to group or others, then it refuses with a clear error', () => {
    const readable = dataDir();
    loadGatewayConfig({ ...KEYS, DATA_DIR: readable });
    chmodSync(path.join(readable, DEV_SECRET_FOLDER, DEV_SECRET_FILE), 0o644);
    const writable = dataDir();
    loadGatewayConfig({ ...KEYS, DATA_DIR: writable });
    chmodSync(path.join(writable, DEV_SECRET_FOLDER), 0o777);

    expect(() => loadGatewayConfig({ ...KEYS, DATA_DIR: readable })).toThrow(
      /dev-jwt-secret has mode 644: group and others/,
    );
    expect(() => loadGatewayConfig({ ...KEYS, DATA_DIR: writable })).toThrow(/secrets has mode 777: group and others/);
  });

  test('when the secret folder belongs to another user (planted in a shared data folder), then it refuses', () => {
    const folder = dataDir();
    const planted = path.join(folder, DEV_SECRET_FOLDER);
    mkdirSync(planted, { mode: 0o700 });
    writeFileSync(path.join(planted, DEV_SECRET_FILE), 'a secret the attacker knows, long enough to pass', {
      mode: 0o600,
    });
    const uid = process.getuid!();
    // Root can give the folder away for real; anyone else cannot, so the process then claims to be another user.
    if (uid === 0) chownSync(planted, 65_534, 65_534);
    else jest.spyOn(process, 'getuid').mockReturnValue(uid + 1);
    try {
      expect(() => loadGatewayConfig({ ...KEYS, DATA_DIR: folder })).toThrow(
        /secrets belongs to user \d+, not to this process/,
      );
    } finally {
      jest.restoreAllMocks();
    }
  });

  test('when nothing else is set, then port 3000, CORS off, 10 logins a minute and one-hour tokens', () => {
    expect(loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET })).toMatchObject({
      port: 3000,
      corsOrigins: [],
      loginRateLimit: { limit: 10, windowMs: 60_000 },
      jwtExpiresInSeconds: 3600,
      logLevel: 'info',
    });
  });

  test('when nothing else is set, then the abuse limits have their defaults, X-Forwarded-For is ignored and counts stay in memory', () => {
    expect(loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET })).toMatchObject({
      jwtAudience: 'order-saga-api',
      loginAccountRateLimit: { limit: 10, windowMs: 60_000 },
      signUpRateLimit: { limit: 10, windowMs: 3_600_000 },
      orderLimits: {
        maxOpenOrders: 5,
        maxUnitsPerLine: 100,
        rate: { limit: 30, windowMs: 60_000 },
        allowHangingTestCards: true,
      },
      trustProxy: false,
      rateLimitStore: 'memory',
    });
  });

  test('when NODE_ENV is production, then the hanging test card is refused', () => {
    expect(
      loadGatewayConfig({ ...KEYS, NODE_ENV: 'production', JWT_SECRET: SECRET }).orderLimits.allowHangingTestCards,
    ).toBe(false);
  });

  test('when the token lifetime is above 24 hours, then it refuses naming JWT_EXPIRES_IN_SECONDS', () => {
    expect(
      loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, JWT_EXPIRES_IN_SECONDS: '86400' }).jwtExpiresInSeconds,
    ).toBe(86_400);
    expect(() => loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, JWT_EXPIRES_IN_SECONDS: '86401' })).toThrow(
      /JWT_EXPIRES_IN_SECONDS must be at most 86400/,
    );
  });

  test('when TRUST_PROXY is a hop count or a list of proxies, then Express gets it; true or a bad entry is refused', () => {
    const trust = (value: string) => loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, TRUST_PROXY: value }).trustProxy;

    expect(trust('1')).toBe(1);
    expect(trust('false')).toBe(false);
    expect(trust('loopback, 10.0.0.0/8,2001:db8::/32')).toEqual(['loopback', '10.0.0.0/8', '2001:db8::/32']);
    expect(() => trust('true')).toThrow(/TRUST_PROXY must be a hop count/);
    expect(() => trust('10.0.0.0/33,proxy.internal')).toThrow(
      /TRUST_PROXY has entries .*10\.0\.0\.0\/33, proxy\.internal/,
    );
  });

  test('when RATE_LIMIT_STORE is postgres, then the counts are shared; another store is refused', () => {
    expect(loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, RATE_LIMIT_STORE: 'postgres' }).rateLimitStore).toBe(
      'postgres',
    );
    expect(() => loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, RATE_LIMIT_STORE: 'redis' })).toThrow(
      /RATE_LIMIT_STORE/,
    );
  });

  test('when CORS_ORIGINS lists origins, then they are trimmed and empty entries dropped', () => {
    const config = loadGatewayConfig({
      ...KEYS,
      JWT_SECRET: SECRET,
      CORS_ORIGINS: ' https://shop.example , ,http://localhost:5173',
    });

    expect(config.corsOrigins).toEqual(['https://shop.example', 'http://localhost:5173']);
  });

  test('when a number is not a positive integer, then it refuses naming the variable', () => {
    expect(() => loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, LOGIN_RATE_LIMIT: '-1' })).toThrow(
      /LOGIN_RATE_LIMIT/,
    );
    expect(() => loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, JWT_EXPIRES_IN_SECONDS: '1.5' })).toThrow(
      /JWT_EXPIRES_IN_SECONDS/,
    );
  });

  test('when nothing about Temporal or the databases is set, then the local dev server and the embedded databases', () => {
    const config = loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET });

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
      ...KEYS,
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
      loadGatewayConfig({ ...KEYS, JWT_SECRET: SECRET, PORT: '0', TEMPORAL_TLS: 'maybe', ORDER_DATABASE_URL: 'nope' });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/PORT must be a positive integer.*TEMPORAL_TLS.*ORDER_DATABASE_URL is not a valid URL/);
  });
});
