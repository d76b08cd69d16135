/**
 * The Kubernetes manifests (deploy/kubernetes) cannot be applied here (no cluster, no image registry), so they are
 * validated: against the Kubernetes 1.33 OpenAPI schemas in strict mode (kubernetes-validate, unknown fields
 * fail), each overlay rendered by kustomize, and the rules a rollout depends on checked on the parsed objects.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GATEWAY_VARIABLES, parseTrustProxy } from '../../api/config';
import {
  DEFAULT_GATEWAY_METRICS_PORT,
  DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS,
  WORKER_SHUTDOWN_FORCE_MARGIN_MS,
} from '../../lib/config';
import { workerOf } from '../../lib/services';
import { DEPLOY_TOOLS, ROOT, testWithTool } from './tools';

const KUBERNETES = path.join(ROOT, 'deploy', 'kubernetes');
const BASE = path.join(KUBERNETES, 'base');
const OVERLAYS = ['self-hosted', 'temporal-cloud'];
const VALIDATOR = path.join(DEPLOY_TOOLS, 'kubernetes-validate');
const KUSTOMIZE = path.join(DEPLOY_TOOLS, 'bin', 'kustomize');
const WORKERS = ['order', 'item', 'coupon', 'payment'] as const;
/** The gateway's grace for in-flight requests after SIGTERM (api/server.ts SHUTDOWN_GRACE_MS). */
const GATEWAY_DRAIN_SECONDS = 10;
/** The longest a worker takes to exit after SIGTERM: its drain, then the margin after which it exits anyway. */
const WORKER_STOP_SECONDS = DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS + WORKER_SHUTDOWN_FORCE_MARGIN_MS / 1000;

const withValidator = testWithTool('kubernetes-validate', VALIDATOR);
const withKustomize = testWithTool('kustomize', KUSTOMIZE);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // The shapes below are checked by the schema validation; the rule tests read them loosely.
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function python(args: string[], input?: string) {
  return spawnSync('python3', args, {
    cwd: ROOT,
    encoding: 'utf8',
    input,
    env: { ...process.env, PYTHONPATH: VALIDATOR },
  });
}

function manifestFiles(): string[] {
  const files = readdirSync(BASE)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .map((file) => path.join(BASE, file));
  const selfHosted = path.join(KUBERNETES, 'overlays', 'self-hosted');
  return [
    ...files,
    path.join(selfHosted, 'app', 'namespace.yaml'),
    path.join(selfHosted, 'temporal-frontend-policy.yaml'),
  ];
}

/** Parses YAML with the PyYAML that kubernetes-validate brings along (no YAML parser among the npm dependencies). */
function parse(yamlText: string): K8sObject[] {
  const result = python(
    ['-c', 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))'],
    yamlText,
  );
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as K8sObject[];
}

function validate(files: string[]) {
  return python(['-m', 'kubernetes_validate', '-k', '1.33.0', '--strict', ...files]);
}

function baseObjects(): K8sObject[] {
  const files = manifestFiles().filter((file) => file.startsWith(BASE));
  return parse(files.map((file) => readFileSync(file, 'utf8')).join('\n---\n'));
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

withValidator('when every manifest is checked against Kubernetes 1.33 in strict mode, then all pass', () => {
  const result = validate(manifestFiles());
  expect(result.stderr).not.toMatch(/ERROR|failed/i);
  expect(result.status).toBe(0);
  expect(result.stdout.match(/ passed /g)?.length).toBeGreaterThanOrEqual(20);
});

withValidator('when a manifest has a field Kubernetes does not know, then the validation fails', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'k8s-'));
  try {
    const broken = path.join(directory, 'broken.yaml');
    writeFileSync(broken, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {}\nreplicas: 2\n');
    expect(validate([broken]).status).not.toBe(0);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

for (const overlay of OVERLAYS) {
  withKustomize(`when the ${overlay} overlay is rendered, then kustomize builds it and every object validates`, () => {
    const rendered = spawnSync(KUSTOMIZE, ['build', path.join(KUBERNETES, 'overlays', overlay)], { encoding: 'utf8' });
    expect(rendered.stderr).toBe('');
    expect(rendered.status).toBe(0);
    const directory = mkdtempSync(path.join(tmpdir(), 'k8s-'));
    try {
      const file = path.join(directory, `${overlay}.yaml`);
      writeFileSync(file, rendered.stdout);
      const result = validate([file]);
      expect(result.status).toBe(0);
      const objects = parse(rendered.stdout);
      const config = find(objects, 'ConfigMap', 'order-saga-config');
      expect(config.metadata.namespace).toBe('order-saga');
      expect(config.data?.TEMPORAL_ADDRESS).toMatch(/:7233$/);
      expect(find(objects, 'Deployment', 'gateway').spec.template.spec.containers[0].image).toMatch(/order-saga:/);
      if (overlay === 'self-hosted') {
        expect(find(objects, 'NetworkPolicy', 'temporal-frontend-internal').metadata.namespace).toBe('temporal');
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
}

withValidator(
  'when a process kind is deployed, then it has replicas, probes, resources and a disruption budget',
  () => {
    const objects = baseObjects();
    for (const name of ['gateway', ...WORKERS.map((worker) => `${worker}-worker`)]) {
      const deployment = find(objects, 'Deployment', name);
      const container = deployment.spec.template.spec.containers[0];
      expect({ name, replicas: deployment.spec.replicas >= 2 }).toEqual({ name, replicas: true });
      expect({ name, liveness: !!container.livenessProbe, readiness: !!container.readinessProbe }).toEqual({
        name,
        liveness: true,
        readiness: true,
      });
      expect({ name, requests: container.resources?.requests, limit: container.resources?.limits?.memory }).toEqual({
        name,
        requests: expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
        limit: expect.any(String),
      });
      expect(container.command.join(' ')).not.toContain('tsx');
      expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      const budget = find(objects, 'PodDisruptionBudget', name);
      expect(budget.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    }
  },
);

withValidator(
  'when the gateway runs as replicas, then they share the rate limit counts and believe only private proxies',
  () => {
    const container = find(baseObjects(), 'Deployment', 'gateway').spec.template.spec.containers[0];
    const env = Object.fromEntries(
      (container.env as { name: string; value?: string }[]).map(({ name, value }) => [name, value]),
    );
    expect(GATEWAY_VARIABLES.rateLimitStore.schema.parse(env.RATE_LIMIT_STORE)).toBe('postgres');
    expect(
      parseTrustProxy(env.TRUST_PROXY, (message) => {
        throw new Error(message);
      }),
    ).toEqual(['uniquelocal']);
  },
);

withValidator('when a Pod is stopped, then its grace period is longer than the longest stop of its process', () => {
  const objects = baseObjects();
  const grace = (name: string): number =>
    find(objects, 'Deployment', name).spec.template.spec.terminationGracePeriodSeconds;
  // No setting changes the workers' drain: they run with the default this compares with.
  expect(find(objects, 'ConfigMap', 'order-saga-config').data).not.toHaveProperty('WORKER_SHUTDOWN_GRACE_SECONDS');
  expect(grace('gateway')).toBeGreaterThan(GATEWAY_DRAIN_SECONDS);
  for (const worker of WORKERS) expect(grace(`${worker}-worker`)).toBeGreaterThan(WORKER_STOP_SECONDS);
});

/** A container port by name. */
function portNamed(container: any, name: string): number | undefined {
  return container.ports?.find((port: { name: string }) => port.name === name)?.containerPort;
}

withValidator(
  'when a process is probed and scraped, then its probes ask its health endpoints and its metrics port is the one it listens on',
  () => {
    const objects = baseObjects();
    const gateway = find(objects, 'Deployment', 'gateway').spec.template;
    const container = gateway.spec.containers[0];
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    const metricsEnv = container.env.find((entry: { name: string }) => entry.name === 'GATEWAY_METRICS_PORT');
    expect(portNamed(container, 'metrics')).toBe(Number(metricsEnv?.value ?? DEFAULT_GATEWAY_METRICS_PORT));
    expect(gateway.metadata.annotations['prometheus.io/port']).toBe(String(portNamed(container, 'metrics')));

    const scraped = find(objects, 'NetworkPolicy', 'metrics-scrape').spec.ingress[0].ports[0];
    const scrapes = (port: number) => port >= scraped.port && port <= (scraped.endPort ?? scraped.port);
    expect(scrapes(portNamed(container, 'metrics')!)).toBe(true);

    for (const worker of WORKERS) {
      const template = find(objects, 'Deployment', `${worker}-worker`).spec.template;
      const workerContainer = template.spec.containers[0];
      // The Deployments set no port variable: the worker listens on its defaults (lib/services.ts).
      expect(JSON.stringify(workerContainer.env ?? [])).not.toMatch(/_PORT/);
      expect({
        worker,
        health: portNamed(workerContainer, 'health'),
        metrics: portNamed(workerContainer, 'metrics'),
      }).toEqual({
        worker,
        ...workerOf(worker).ports,
      });
      expect({
        worker,
        probes: [workerContainer.startupProbe, workerContainer.readinessProbe, workerContainer.livenessProbe].map(
          (probe) => probe.httpGet,
        ),
      }).toEqual({
        worker,
        probes: [
          { path: '/health/ready', port: 'health' },
          { path: '/health/ready', port: 'health' },
          { path: '/health/live', port: 'health' },
        ],
      });
      expect(template.metadata.annotations['prometheus.io/port']).toBe(String(workerOf(worker).ports.metrics));
      expect({ worker, scraped: scrapes(workerOf(worker).ports.metrics) }).toEqual({ worker, scraped: true });
    }
  },
);

withValidator('when credentials are handed out, then each worker gets only its own database Secret', () => {
  const objects = baseObjects();
  for (const worker of WORKERS) {
    const secret = find(objects, 'Secret', `order-saga-db-${worker}`);
    expect(Object.keys(secret.stringData ?? {})).toEqual([`${worker.toUpperCase()}_DATABASE_URL`]);
    expect(new URL(secret.stringData?.[`${worker.toUpperCase()}_DATABASE_URL`] ?? '').username).toBe(
      `${worker}_service`,
    );
    const container = find(objects, 'Deployment', `${worker}-worker`).spec.template.spec.containers[0];
    const secrets = container.envFrom
      .filter((source: { secretRef?: { name: string } }) => source.secretRef)
      .map((source: { secretRef: { name: string } }) => source.secretRef.name);
    expect(secrets.sort()).toEqual(
      ['order-saga-temporal', 'order-saga-payload-keys', `order-saga-db-${worker}`].sort(),
    );
  }
  const setup = find(objects, 'Job', 'order-saga-setup').spec.template.spec.containers[0];
  expect(setup.command).toEqual(['node', 'dist/scripts/setup-databases.js']);
});

withValidator(
  "when Temporal is self-hosted, then a NetworkPolicy keeps its frontend to the cluster's own namespaces",
  () => {
    const [policy] = parse(
      readFileSync(path.join(KUBERNETES, 'overlays', 'self-hosted', 'temporal-frontend-policy.yaml'), 'utf8'),
    );
    expect(policy?.spec.policyTypes).toEqual(['Ingress']);
    const [rule] = policy?.spec.ingress ?? [];
    expect(rule.ports).toEqual([{ protocol: 'TCP', port: 7233 }]);
    for (const peer of rule.from) expect(Object.keys(peer)).toEqual(['namespaceSelector']);
    const gatewayPolicy = find(baseObjects(), 'NetworkPolicy', 'order-saga-default-deny-ingress');
    expect(gatewayPolicy.spec.ingress).toBeUndefined();
  },
);
