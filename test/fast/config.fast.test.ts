/**
 * The configuration schemas of every process kind (no infrastructure): defaults, validation naming the variable,
 * the Temporal connection through envconfig (profiles, TLS, API key), the README table generated from the
 * schemas, and real processes that refuse a bad configuration before they connect to anything.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  databaseUrl,
  loadTemporalSettings,
  loadWorkerConfig,
  type Env,
  type TemporalConnectionOptions,
} from '../../lib/config';
import { SERVICE_NAMES, WORKER_SERVICES, workerEntry } from '../../lib/services';
import { README, configTable, tableIn, withoutPadding } from '../../scripts/config-table';
import { MAX_TEMPORAL_PORT, TEMPORAL_EXTRA_PORTS, loadClusterConfig } from '../../scripts/cluster/config';
import { loadStartConfig } from '../../scripts/lib/start-config';
import { loadGatewayConfig } from '../../api/config';

const ROOT = path.resolve(__dirname, '..', '..');
const folder = () => mkdtempSync(path.join(os.tmpdir(), 'config-test-'));

/** An environment that cannot pick up the developer's own Temporal config file (~/.config/temporalio). */
function isolated(env: Env = {}): Env {
  return { HOME: folder(), XDG_CONFIG_HOME: folder(), DATA_DIR: folder(), ...env };
}

function writeFile(name: string, content: string): string {
  const file = path.join(folder(), name);
  writeFileSync(file, content);
  return file;
}

describe('the registry', () => {
  test('every service has a database; the four workers start with the one that runs the workflows', () => {
    expect(SERVICE_NAMES).toEqual(['user', 'item', 'coupon', 'payment', 'order']);
    expect(WORKER_SERVICES).toEqual(['order', 'item', 'coupon', 'payment']);
    expect(WORKER_SERVICES.map(workerEntry)).toEqual([
      'workers/order.ts',
      'workers/item.ts',
      'workers/coupon.ts',
      'workers/payment.ts',
    ]);
  });
});

describe('worker configuration', () => {
  test('when nothing is set, then the local defaults: dev server, embedded PostgreSQL, default limits', () => {
    const config = loadWorkerConfig('order', isolated());

    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      addressConfigured: false,
      connection: { address: '127.0.0.1:7233' },
    });
    expect(config.database).toEqual({
      url: 'postgresql://postgres:postgres@127.0.0.1:54329/order',
      limits: {
        lockTimeoutMs: 5000,
        statementTimeoutMs: 15000,
        idleInTransactionTimeoutMs: 15000,
        connectionTimeoutMs: 10000,
      },
    });
    expect(config.extras).toEqual({
      reconcileIntervalSeconds: 60,
      reconcileGraceSeconds: 60,
      compensationRetryIntervalSeconds: 600,
      workflowBundlePath: undefined,
    });
  });

  test('when a variable is empty, then it counts as unset, as it always did', () => {
    const config = loadWorkerConfig('payment', isolated({ CARD_GATEWAY_HANG_MS: '', TEMPORAL_ADDRESS: '' }));

    expect(config.extras.cardGatewayHangMs).toBe(60_000);
    expect(config.extras.maxConcurrentCharges).toBe(100);
    expect(config.temporal.address).toBe('127.0.0.1:7233');
  });

  test('when values are set, then each worker reads its own and its database URL', () => {
    const env = isolated({
      PAYMENT_DATABASE_URL: 'postgresql://pay@db.internal:5432/payment',
      CARD_GATEWAY_HANG_MS: '250',
      PAYMENT_WORKER_MAX_CONCURRENT_ACTIVITIES: '40',
      EMBEDDED_POSTGRES_PORT: '6000',
      DB_LOCK_TIMEOUT_MS: '750',
    });

    const payment = loadWorkerConfig('payment', env);
    const item = loadWorkerConfig('item', env);

    expect(payment.extras).toEqual({ cardGatewayHangMs: 250, maxConcurrentCharges: 40 });
    expect(payment.database.url).toBe('postgresql://pay@db.internal:5432/payment');
    expect(payment.database.limits.lockTimeoutMs).toBe(750);
    expect(item.database.url).toBe('postgresql://postgres:postgres@127.0.0.1:6000/item');
    expect(item.extras).toEqual({});
  });

  test('when several values are bad, then one ConfigError names every one of them', () => {
    const load = () =>
      loadWorkerConfig('order', isolated({ RECONCILE_INTERVAL_SECONDS: 'often', DB_LOCK_TIMEOUT_MS: '-5' }));

    expect(load).toThrow(ConfigError);
    expect(load).toThrow('RECONCILE_INTERVAL_SECONDS must be a positive integer, got "often"');
    expect(load).toThrow('DB_LOCK_TIMEOUT_MS must be a positive integer, got "-5"');
  });

  test('when a database URL is not a URL, then the error names the variable without echoing the secret', () => {
    const load = () => databaseUrl('item', { ITEM_DATABASE_URL: 'postgres password=hunter2' });

    expect(load).toThrow('ITEM_DATABASE_URL is not a valid URL');
    expect(load).not.toThrow(/hunter2/);
  });

  test('when nothing is set, then each worker logs at info, drains 8 s and listens on health and metrics ports of its own', () => {
    const configs = WORKER_SERVICES.map((service) => loadWorkerConfig(service, isolated()).observability);

    expect(configs[0]).toEqual({ logLevel: 'info', healthPort: 9401, metricsPort: 9461, shutdownGraceMs: 8000 });
    const ports = configs.flatMap((config) => [config.healthPort, config.metricsPort]);
    expect(new Set([...ports, loadGatewayConfig(isolated({ JWT_SECRET: 'x'.repeat(32) })).metricsPort]).size).toBe(9);
  });

  test('when observability is configured, then 0 turns a listener off and a bad port or level is refused by name', () => {
    const config = loadWorkerConfig(
      'coupon',
      isolated({ COUPON_WORKER_HEALTH_PORT: '0', COUPON_WORKER_METRICS_PORT: '9999', LOG_LEVEL: 'debug' }),
    ).observability;
    const load = () =>
      loadWorkerConfig(
        'item',
        isolated({ ITEM_WORKER_HEALTH_PORT: '70000', ITEM_WORKER_METRICS_PORT: 'x', LOG_LEVEL: 'verbose' }),
      );

    expect(config).toMatchObject({ healthPort: 0, metricsPort: 9999, logLevel: 'debug' });
    expect(load).toThrow('ITEM_WORKER_HEALTH_PORT must be a port (1-65535), or 0 for off, got "70000"');
    expect(load).toThrow('ITEM_WORKER_METRICS_PORT must be a port (1-65535), or 0 for off, got "x"');
    expect(load).toThrow(/LOG_LEVEL .*got "verbose"/);
    expect(() => loadGatewayConfig(isolated({ JWT_SECRET: 'x'.repeat(32), GATEWAY_METRICS_PORT: '-1' }))).toThrow(
      'GATEWAY_METRICS_PORT must be a port (1-65535), or 0 for off, got "-1"',
    );
  });

  test('when the workflow bundle does not exist, then the order worker refuses to start', () => {
    expect(() => loadWorkerConfig('order', isolated({ WORKFLOW_BUNDLE_PATH: '/nonexistent/bundle.js' }))).toThrow(
      'WORKFLOW_BUNDLE_PATH names a file that does not exist',
    );
  });
});

describe('Temporal connection through envconfig', () => {
  test('when a profile of a config file names a Temporal Cloud namespace with an API key, then TLS is on', () => {
    const file = writeFile(
      'temporal.toml',
      [
        '[profile.cloud]',
        'address = "shop.a1b2c.tmprl.cloud:7233"',
        'namespace = "shop.a1b2c"',
        'api_key = "k-123"',
      ].join('\n'),
    );

    const temporal = loadTemporalSettings(isolated({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' }));

    expect(temporal).toEqual({
      address: 'shop.a1b2c.tmprl.cloud:7233',
      namespace: 'shop.a1b2c',
      addressConfigured: true,
      connection: { address: 'shop.a1b2c.tmprl.cloud:7233', apiKey: 'k-123', tls: true },
    });
  });

  test('when variables are set beside a profile, then they override its fields', () => {
    const file = writeFile('temporal.toml', '[profile.default]\naddress = "a:7233"\nnamespace = "from-file"\n');

    const temporal = loadTemporalSettings(isolated({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_NAMESPACE: 'from-env' }));

    expect(temporal.address).toBe('a:7233');
    expect(temporal.namespace).toBe('from-env');
  });

  test('when mTLS files and a server name are set, then both connection kinds get the certificate pair', () => {
    const env = isolated({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: writeFile('client.pem', 'CERT'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: writeFile('client.key', 'KEY'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: writeFile('ca.pem', 'CA'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });

    const { connection } = loadTemporalSettings(env);

    const tls = (connection as TemporalConnectionOptions).tls as {
      serverNameOverride?: string;
      serverRootCACertificate?: Uint8Array;
      clientCertPair?: { crt: Uint8Array; key: Uint8Array };
    };
    const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString();
    expect(tls.serverNameOverride).toBe('temporal.internal');
    expect(text(tls.serverRootCACertificate)).toBe('CA');
    expect(text(tls.clientCertPair?.crt)).toBe('CERT');
    expect(text(tls.clientCertPair?.key)).toBe('KEY');
  });

  test('when a client certificate comes without its key, then it refuses naming both variables', () => {
    const env = isolated({ TEMPORAL_TLS_CLIENT_CERT_PATH: writeFile('client.pem', 'CERT') });

    expect(() => loadTemporalSettings(env)).toThrow(
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together',
    );
  });

  test('when the profile or the config file does not exist, then it refuses naming the variable', () => {
    const file = writeFile('temporal.toml', '[profile.default]\naddress = "a:7233"\n');

    expect(() => loadTemporalSettings(isolated({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }))).toThrow(
      /TEMPORAL_PROFILE.*Profile 'prod' not found/,
    );
    expect(() => loadTemporalSettings(isolated({ TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' }))).toThrow(
      'TEMPORAL_CONFIG_FILE names a file that does not exist',
    );
    expect(() => loadTemporalSettings(isolated({ TEMPORAL_TLS: 'yes' }))).toThrow(/TEMPORAL_TLS .*got "yes"/);
  });
});

describe('npm start configuration', () => {
  test('when nothing is set, then it runs a dev server and the embedded PostgreSQL for every service', () => {
    const dataDir = folder();
    const config = loadStartConfig(isolated({ DATA_DIR: dataDir }));

    expect(config).toMatchObject({
      gatewayPort: 3000,
      dataDir,
      devServer: { port: 7233, uiPort: 8233, uiUrl: undefined },
      embeddedPostgresPort: 54329,
      externalDatabases: [],
    });
    expect(config.temporal.addressConfigured).toBe(false);
  });

  test('when an address or database URLs are given, then it uses them instead of starting its own', () => {
    const config = loadStartConfig(
      isolated({ TEMPORAL_ADDRESS: 'temporal:7233', ORDER_DATABASE_URL: 'postgresql://db/order' }),
    );

    expect(config.temporal.addressConfigured).toBe(true);
    expect(config.externalDatabases).toEqual(['order']);
  });

  test('when a supervisor number is bad, then it refuses naming the variable', () => {
    expect(() => loadStartConfig(isolated({ SUPERVISOR_CRASH_LIMIT: 'often' }))).toThrow(
      'SUPERVISOR_CRASH_LIMIT must be a positive integer, got "often"',
    );
  });
});

describe('npm run start:cluster configuration', () => {
  test('when the Temporal port leaves no room below the smallint limit of its schema, then it refuses naming the variable', () => {
    expect(
      loadClusterConfig(isolated({ CLUSTER_TEMPORAL_PORT: String(MAX_TEMPORAL_PORT - TEMPORAL_EXTRA_PORTS) })),
    ).toMatchObject({ temporalPort: MAX_TEMPORAL_PORT - TEMPORAL_EXTRA_PORTS });
    expect(() =>
      loadClusterConfig(isolated({ CLUSTER_TEMPORAL_PORT: String(MAX_TEMPORAL_PORT - TEMPORAL_EXTRA_PORTS + 1) })),
    ).toThrow(/CLUSTER_TEMPORAL_PORT must be at most 32758/);
  });
});

describe('README', () => {
  test('the configuration table is the one the schemas generate (run `npm run docs:config` after a change)', () => {
    const committed = tableIn(readFileSync(README, 'utf8'));

    expect(withoutPadding(committed)).toEqual(withoutPadding(configTable()));
  });
});

describe('processes refuse a bad configuration before they connect to anything', () => {
  async function run(entry: string, env: Env): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: isolated({ PATH: process.env.PATH, ...env }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    return { code, stderr };
  }

  // Both at once: each start pays for loading TypeScript, and the fast tier should stay fast.
  test('a worker and the gateway exit 1 and name the variable', async () => {
    const [worker, gateway] = await Promise.all([
      run('workers/item.ts', { DB_LOCK_TIMEOUT_MS: 'soon' }),
      run('api/server.ts', { TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent/client.key' }),
    ]);

    expect(worker.code).toBe(1);
    expect(worker.stderr).toContain(
      'item worker failed to start: Invalid configuration: DB_LOCK_TIMEOUT_MS must be a positive integer, got "soon"',
    );
    expect(gateway.code).toBe(1);
    expect(gateway.stderr).toContain(
      'gateway failed to start: Invalid configuration: TEMPORAL_TLS_CLIENT_KEY_PATH names a file that does not exist',
    );
  }, 30_000);
});
