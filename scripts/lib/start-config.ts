/**
 * The configuration of `npm start` (the supervisor, scripts/start.ts, and its embedded PostgreSQL wrapper): read
 * and validated once before anything starts, so that a typo stops the start instead of a child crash-looping.
 * The workers and the gateway it starts read their own kinds (lib/config.ts, api/config.ts) from the environment
 * it hands them.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  DATA_DIR,
  DEFAULT_TEMPORAL_PORT,
  GATEWAY_METRICS_PORT,
  DEFAULT_TEMPORAL_UI_PORT,
  EMBEDDED_POSTGRES_PORT,
  PAYLOAD_KEY_VARIABLE_LIST,
  PORT,
  SEED_VARIABLES,
  TEMPORAL_VARIABLES,
  TOOL_VARIABLES,
  databaseUrlSpec,
  databaseVariables,
  loadPayloadKeys,
  loadTemporalSettings,
  positiveInteger,
  readAll,
  readVariables,
  variable,
  workerHealthPortVariable,
  workerMetricsPortVariable,
  type ConfigKind,
  type Env,
  type TemporalSettings,
} from '../../lib/config';
import { SERVICE_NAMES, WORKER_SERVICES, type ServiceName, type WorkerServiceName } from '../../lib/services';
import { ROOT } from './migrate';
import { POLICY_VARIABLES, restartPolicyFromEnv, type RestartPolicy } from './supervisor';

export const START_VARIABLES = {
  port: PORT,
  dataDir: DATA_DIR,
  temporalPort: variable(
    'TEMPORAL_PORT',
    positiveInteger(DEFAULT_TEMPORAL_PORT),
    `\`${DEFAULT_TEMPORAL_PORT}\``,
    'port of the Temporal dev server npm start runs',
  ),
  temporalUiPort: variable(
    'TEMPORAL_UI_PORT',
    positiveInteger(DEFAULT_TEMPORAL_UI_PORT),
    `\`${DEFAULT_TEMPORAL_UI_PORT}\``,
    "port of the dev server's Web UI",
  ),
  temporalUiUrl: variable(
    'TEMPORAL_UI_URL',
    z.string().optional(),
    `\`http://localhost:${DEFAULT_TEMPORAL_UI_PORT}\``,
    'base of `links.temporalUi` and of the Web UI link npm start prints',
  ),
  embeddedPostgresPort: EMBEDDED_POSTGRES_PORT,
  gatewayMetricsPort: GATEWAY_METRICS_PORT,
};

/** The ports of the workers' health endpoints and metrics: checked free before the start, probed for readiness. */
function workerPortVariables() {
  return Object.fromEntries(
    WORKER_SERVICES.flatMap((service) => [
      [`${service}Health`, workerHealthPortVariable(service)],
      [`${service}Metrics`, workerMetricsPortVariable(service)],
    ]),
  );
}

/** The npm start kind: its own variables, what it needs to decide what to run, seed and supervise. */
export const START_KIND: ConfigKind = {
  readBy: 'npm start',
  variables: [
    ...Object.values(START_VARIABLES),
    ...Object.values(TEMPORAL_VARIABLES),
    ...PAYLOAD_KEY_VARIABLE_LIST,
    ...databaseVariables(SERVICE_NAMES),
    ...SEED_VARIABLES,
    TOOL_VARIABLES.temporalCliPath,
    ...Object.values(POLICY_VARIABLES),
    ...Object.values(workerPortVariables()),
  ],
};

export interface StartConfig {
  gatewayPort: number;
  /** Absolute. */
  dataDir: string;
  temporal: TemporalSettings;
  devServer: { port: number; uiPort: number; uiUrl?: string };
  embeddedPostgresPort: number;
  /** The services whose database is given by URL; the others get the embedded PostgreSQL. */
  externalDatabases: ServiceName[];
  restartPolicy: RestartPolicy;
  /** 0 when off. */
  gatewayMetricsPort: number;
  /** Each worker's health and metrics port; 0 when off. */
  workerPorts: Record<WorkerServiceName, { health: number; metrics: number }>;
}

export function loadStartConfig(env: Env = process.env): StartConfig {
  const urlVariables = Object.fromEntries(
    SERVICE_NAMES.map((service) => [service, databaseUrlSpec(service)]),
  ) as Record<ServiceName, ReturnType<typeof databaseUrlSpec>>;
  const dataDirOf = (value: string | undefined) => path.resolve(value ?? path.join(ROOT, '.data'));
  const { values, urls, temporal, restartPolicy, ports } = readAll((read) => ({
    values: read(() => readVariables(START_VARIABLES, env)),
    ports: read(() => readVariables(workerPortVariables(), env) as Record<string, number>),
    urls: read(() => readVariables(urlVariables, env)),
    temporal: read(() => loadTemporalSettings(env)),
    restartPolicy: read(() => restartPolicyFromEnv(env)),
    // Read here so that the development key exists before the processes that share it start, and so that a
    // production start without keys stops at once instead of every child crash-looping.
    payloadKeys: read(() => loadPayloadKeys({ ...env, DATA_DIR: dataDirOf(env.DATA_DIR || undefined) })),
  }));
  return {
    gatewayPort: values.port,
    dataDir: dataDirOf(values.dataDir),
    temporal,
    devServer: { port: values.temporalPort, uiPort: values.temporalUiPort, uiUrl: values.temporalUiUrl },
    embeddedPostgresPort: values.embeddedPostgresPort,
    externalDatabases: SERVICE_NAMES.filter((service) => urls[service] !== undefined),
    restartPolicy,
    gatewayMetricsPort: values.gatewayMetricsPort,
    workerPorts: Object.fromEntries(
      WORKER_SERVICES.map((service) => [
        service,
        { health: ports[`${service}Health`] ?? 0, metrics: ports[`${service}Metrics`] ?? 0 },
      ]),
    ) as StartConfig['workerPorts'],
  };
}

/** The embedded PostgreSQL wrapper (scripts/postgres-server.ts), a child of npm start or run on its own. */
export function loadEmbeddedPostgresConfig(env: Env = process.env): { port: number; dataDir: string } {
  const values = readVariables({ port: EMBEDDED_POSTGRES_PORT, dataDir: DATA_DIR }, env);
  return { port: values.port, dataDir: path.resolve(values.dataDir ?? path.join(ROOT, '.data'), 'postgres') };
}
