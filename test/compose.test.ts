/**
 * The production-like compose topology must stay valid for Compose v2 (the docker/compose v2 binary, built into
 * .tools/deploy by scripts/deploy-tools.sh, checks it without a Docker engine) and keep its security shape:
 * Temporal's frontend unpublished, the Web UI on loopback, one database role per service.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GATEWAY_VARIABLES, parseTrustProxy } from '../api/config';
import {
  DEFAULT_GATEWAY_METRICS_PORT,
  DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS,
  WORKER_SHUTDOWN_FORCE_MARGIN_MS,
} from '../lib/config';
import { WORKER_SERVICES, workerOf, workerProcessName } from '../lib/services';
import { DEPLOY_TOOLS, testWithTool } from './deploy/tools';

const ROOT = path.resolve(__dirname, '..');
const COMPOSE = path.join(DEPLOY_TOOLS, 'bin', 'docker-compose');
const withCompose = testWithTool('docker compose v2', COMPOSE);

const SERVICES = ['order', 'item', 'coupon', 'payment', 'user'] as const;

function compose(args: string[], env: NodeJS.ProcessEnv = {}, profiles: string[] = []) {
  const profileArgs = profiles.flatMap((profile) => ['--profile', profile]);
  const result = spawnSync(COMPOSE, ['-f', 'docker-compose.yml', ...profileArgs, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    // No .env of the developer's and no ambient variable changes what is checked.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  if (result.error) throw result.error;
  return result;
}

interface ComposeService {
  image?: string;
  profiles?: string[];
  stop_grace_period?: string;
  healthcheck?: { test?: string[] };
  ports?: { target: number; published?: string; host_ip?: string }[];
  environment?: Record<string, string | null>;
  networks?: Record<string, unknown>;
  volumes?: { source?: string; target: string }[];
}

function resolvedModel(
  env: NodeJS.ProcessEnv = {},
  profiles: string[] = [],
): {
  services: Record<string, ComposeService>;
  networks: Record<string, { internal?: boolean }>;
} {
  const result = compose(['config', '--format', 'json'], env, profiles);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

withCompose('when Compose v2 validates docker-compose.yml, then it reports no error and no warning', () => {
  const result = compose(['config', '-q']);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')).not.toMatch(/^version:/m);
});

withCompose(
  'when the topology is read, then it has the Temporal jobs, the app and its workers, the long-running ones health-checked',
  () => {
    const { services } = resolvedModel();
    expect(Object.keys(services).sort()).toEqual(
      [
        'coupon-worker',
        'gateway',
        'item-worker',
        'order-worker',
        'payment-worker',
        'postgres',
        'setup',
        'temporal',
        'temporal-namespace',
        'temporal-schema',
        'temporal-ui',
      ].sort(),
    );
    expect(JSON.stringify(services)).not.toContain('"profiles"');
    for (const name of [
      'gateway',
      'order-worker',
      'item-worker',
      'coupon-worker',
      'payment-worker',
      'postgres',
      'temporal',
    ]) {
      expect({ name, healthcheck: services[name]?.healthcheck !== undefined }).toEqual({ name, healthcheck: true });
    }
    expect(services.temporal?.image).toMatch(/^temporalio\/server:1\.(2[89]|3\d)\.\d+$/);
    expect(services['temporal-schema']?.image).toMatch(/^temporalio\/admin-tools:/);
    expect(JSON.stringify(services)).not.toContain('auto-setup');
  },
);

withCompose(
  'when ports are published, then the Temporal frontend is not and the Web UI listens on loopback only',
  () => {
    const { services, networks } = resolvedModel();
    expect(services.temporal?.ports ?? []).toEqual([]);
    expect(services.postgres?.ports ?? []).toEqual([]);
    expect(services['temporal-ui']?.ports).toEqual([expect.objectContaining({ host_ip: '127.0.0.1', target: 8080 })]);
    expect(Object.keys(services.temporal?.networks ?? {})).toEqual(['internal']);
    expect(networks.internal?.internal).toBe(true);
  },
);

withCompose('when the app connects to PostgreSQL, then each service uses its own role and its own database', () => {
  const { services } = resolvedModel({ ITEM_DB_PASSWORD: 'item-secret-from-env' });
  for (const service of SERVICES) {
    const url = new URL(services.setup?.environment?.[`${service.toUpperCase()}_DATABASE_URL`] ?? '');
    expect({ service, user: url.username, database: url.pathname }).toEqual({
      service,
      user: `${service}_service`,
      database: `/${service}`,
    });
  }
  expect(services.setup?.environment?.ITEM_DATABASE_URL).toContain(':item-secret-from-env@');
  expect(services.postgres?.environment?.ITEM_DB_PASSWORD).toBe('item-secret-from-env');
  const init = readFileSync(path.join(ROOT, 'docker', 'postgres-init.sql'), 'utf8');
  for (const service of SERVICES) expect(init).toMatch(new RegExp(`OWNER ${service}_service;`));
  expect(init).toMatch(/REVOKE ALL ON DATABASE .* FROM PUBLIC/);
});

withCompose('when seed passwords are set on the host, then the set-up job receives them', () => {
  const { services } = resolvedModel({
    SEED_ADMIN_PASSWORD: 'admin-password-16ch',
    SEED_CUSTOMER_PASSWORD: 'customer-pw-16chars',
  });
  expect(services.setup?.environment).toEqual(
    expect.objectContaining({
      SEED_ADMIN_PASSWORD: 'admin-password-16ch',
      SEED_CUSTOMER_PASSWORD: 'customer-pw-16chars',
    }),
  );
});

withCompose(
  'when payload keys are set on the host, then the gateway and every worker get the same keys, and the Web UI decodes through the gateway',
  () => {
    const keys = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
    const { services } = resolvedModel({ PAYLOAD_ENCRYPTION_KEYS: keys });
    for (const name of ['gateway', 'order-worker', 'item-worker', 'coupon-worker', 'payment-worker']) {
      expect({ name, keys: services[name]?.environment?.PAYLOAD_ENCRYPTION_KEYS }).toEqual({ name, keys });
    }
    expect(services['temporal-ui']?.environment).toEqual(
      expect.objectContaining({
        TEMPORAL_CODEC_ENDPOINT: 'http://localhost:3000/codec',
        TEMPORAL_CODEC_INCLUDE_CREDENTIALS: 'true',
      }),
    );
    // The gateway admits the UI's origin (the origin of TEMPORAL_UI_URL) to the codec endpoint.
    expect(services.gateway?.environment?.TEMPORAL_UI_URL).toBe('http://localhost:8233');
  },
);

withCompose(
  'when the gateway is configured, then rate limits are shared and X-Forwarded-For is ignored by default',
  () => {
    const env = (overrides: NodeJS.ProcessEnv) => resolvedModel(overrides).services.gateway?.environment ?? {};
    const settings = (environment: Record<string, string | null>) =>
      GATEWAY_VARIABLES.rateLimitStore.schema.parse(environment.RATE_LIMIT_STORE ?? undefined);
    const trusted = (environment: Record<string, string | null>) =>
      parseTrustProxy(environment.TRUST_PROXY ?? undefined, (message) => {
        throw new Error(message);
      });
    expect(settings(env({}))).toBe('postgres');
    expect(trusted(env({}))).toBe(false);
    expect(trusted(env({ TRUST_PROXY: '1' }))).toBe(1);
  },
);

withCompose('when the app containers run, then they run compiled JavaScript, never tsx', () => {
  const result = compose(['config']);
  expect(result.stdout).not.toContain('tsx');
  expect(result.stdout).toContain('dist/api/server.js');
});

/** Compose's duration strings as it writes them (`20s`, `1m30s`), in seconds. */
function durationSeconds(duration: string | undefined): number {
  const parts = [...(duration ?? '').matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)];
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return parts.reduce((sum, [, value, suffix]) => sum + Number(value) * unit[suffix!]!, 0);
}

withCompose(
  'when a container is stopped, then Compose waits longer than its process takes to drain and exit, and health checks ask the readiness endpoints',
  () => {
    const { services } = resolvedModel();
    // The gateway finishes requests for 10 s (api/server.ts); a worker drains, then exits at most 3 s later.
    expect(durationSeconds(services.gateway?.stop_grace_period)).toBeGreaterThan(10);
    expect(services.gateway?.healthcheck?.test?.join(' ')).toContain('http://localhost:3000/health/ready');
    const workerStopSeconds = DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS + WORKER_SHUTDOWN_FORCE_MARGIN_MS / 1000;
    for (const service of WORKER_SERVICES) {
      const name = workerProcessName(service);
      const grace = durationSeconds(services[name]?.stop_grace_period);
      expect({ name, longer: grace > workerStopSeconds }).toEqual({ name, longer: true });
      expect(services[name]?.environment?.WORKER_SHUTDOWN_GRACE_SECONDS).toBeUndefined();
      expect(services[name]?.healthcheck?.test?.join(' ')).toContain(
        `http://localhost:${workerOf(service).ports.health}/health/ready`,
      );
    }
  },
);

withCompose(
  'when the observability profile is on, then Prometheus scrapes every metrics port and Grafana gets the committed dashboard, both on loopback only',
  () => {
    const plain = resolvedModel();
    expect(plain.services.prometheus).toBeUndefined();
    expect(plain.services.grafana).toBeUndefined();
    const { services } = resolvedModel({}, ['observability']);
    for (const name of ['prometheus', 'grafana']) {
      expect(services[name]?.profiles).toEqual(['observability']);
      expect(services[name]?.ports?.map((port) => port.host_ip)).toEqual(['127.0.0.1']);
    }
    const mounted = (name: string, target: string) =>
      services[name]?.volumes?.find((volume) => volume.target === target)?.source;
    const configFile = path.join(ROOT, 'deploy', 'prometheus', 'prometheus.yml');
    expect(mounted('prometheus', '/etc/prometheus/prometheus.yml')).toBe(configFile);
    expect(mounted('grafana', '/etc/grafana/provisioning')).toBe(path.join(ROOT, 'deploy', 'grafana', 'provisioning'));
    expect(mounted('grafana', '/etc/grafana/dashboards')).toBe(path.join(ROOT, 'deploy', 'grafana', 'dashboards'));
    expect(Object.keys(services.prometheus?.networks ?? {}).sort()).toEqual(['edge', 'internal']);

    // Every process's metrics port is a target, on its default (no service sets another), and nothing else is.
    const targets = [...readFileSync(configFile, 'utf8').matchAll(/'([\w-]+):(\d+)'/g)]
      .map(([, host, port]) => `${host}:${port}`)
      .sort();
    const expected = [
      `gateway:${DEFAULT_GATEWAY_METRICS_PORT}`,
      ...WORKER_SERVICES.map((service) => `${workerProcessName(service)}:${workerOf(service).ports.metrics}`),
    ].sort();
    expect(targets).toEqual(expected);
    expect(String(services.gateway?.environment?.GATEWAY_METRICS_PORT)).toBe(String(DEFAULT_GATEWAY_METRICS_PORT));
    for (const service of WORKER_SERVICES) {
      const variables = Object.keys(services[workerProcessName(service)]?.environment ?? {});
      expect(variables.filter((key) => key.endsWith('_PORT'))).toEqual([]);
    }

    // The dashboard reads the provisioned data source, and only it.
    const datasources = readFileSync(
      path.join(ROOT, 'deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'),
      'utf8',
    );
    const uid = /uid: (\S+)/.exec(datasources)?.[1];
    const dashboard = JSON.parse(
      readFileSync(path.join(ROOT, 'deploy', 'grafana', 'dashboards', 'order-saga.json'), 'utf8'),
    ) as { panels: { datasource?: { uid?: string }; targets?: { datasource?: { uid?: string } }[] }[] };
    const uids = new Set(
      dashboard.panels
        .flatMap((panel) => [panel.datasource?.uid, ...(panel.targets ?? []).map((target) => target.datasource?.uid)])
        .filter(Boolean),
    );
    expect([...uids]).toEqual([uid]);
  },
);

/**
 * Docker's .dockerignore rules, enough for this file: `*` and `?` stay within a path segment, `**` spans
 * segments, a pattern also excludes everything under a matching folder, a later `!pattern` re-includes.
 */
function ignoredByDocker(file: string, patterns: string[]): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const source = pattern
      .split(/(\*\*\/?|\*|\?)/)
      .map((part) =>
        part === '**/' || part === '**'
          ? '(?:.*/)?'
          : part === '*'
            ? '[^/]*'
            : part === '?'
              ? '[^/]'
              : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    if (new RegExp(`^${source}(?:/.*)?$`).test(file)) ignored = !negated;
  }
  return ignored;
}

test('when the image is built, then no .env file of the build context goes into it', () => {
  const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  for (const secret of ['.env', '.env.production', '.env.local', 'deploy/.env', 'deploy/prod/.env.staging']) {
    expect({ file: secret, ignored: ignoredByDocker(secret, patterns) }).toEqual({ file: secret, ignored: true });
  }
  for (const needed of ['package.json', 'api/server.ts', 'prisma/order/schema.prisma']) {
    expect({ file: needed, ignored: ignoredByDocker(needed, patterns) }).toEqual({ file: needed, ignored: false });
  }
});
