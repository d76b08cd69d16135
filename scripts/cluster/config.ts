/**
 * The configuration of `npm run start:cluster` (scripts/cluster/start-cluster.ts): its own variables, so that it
 * runs beside `npm start` without a clash (other ports, another data folder). Read and validated once before
 * anything starts. The workers and the gateway it starts read their own kinds from the environment it hands them.
 */
import path from 'node:path';
import { z } from 'zod';
import { SEED_VARIABLES, positiveInteger, readAll, readVariables, variable, type ConfigKind } from '../../lib/config';
import { ROOT } from '../lib/migrate';
import { POLICY_VARIABLES, restartPolicyFromEnv, type RestartPolicy } from '../lib/supervisor';

/** Defaults one step away from npm start's (3000, 7233, 8233, 54329), so both can run at once. */
export const DEFAULT_CLUSTER_GATEWAY_PORT = 3100;
export const DEFAULT_CLUSTER_TEMPORAL_PORT = 7333;
export const DEFAULT_CLUSTER_UI_PORT = 8333;
export const DEFAULT_CLUSTER_POSTGRES_PORT = 54339;
/** The Temporal server's other ports follow its frontend port: frontend + 1 … frontend + this. */
export const TEMPORAL_EXTRA_PORTS = 9;
/**
 * The highest port the Temporal server can use: its SQL schema keeps every service's port in a smallint column
 * (cluster_membership.rpc_port), and a server on a higher port dies at start ("out of range for type smallint").
 */
export const MAX_TEMPORAL_PORT = 32_767;

export const CLUSTER_VARIABLES = {
  dataDir: variable(
    'CLUSTER_DATA_DIR',
    z.string().optional(),
    '`.data/cluster`',
    "where the cluster's PostgreSQL data, its workflow bundle and `processes.json` live",
  ),
  gatewayPort: variable(
    'CLUSTER_GATEWAY_PORT',
    positiveInteger(DEFAULT_CLUSTER_GATEWAY_PORT),
    `\`${DEFAULT_CLUSTER_GATEWAY_PORT}\``,
    'HTTP port of the gateway npm run start:cluster runs',
  ),
  temporalPort: variable(
    'CLUSTER_TEMPORAL_PORT',
    positiveInteger(DEFAULT_CLUSTER_TEMPORAL_PORT).refine(
      (port) => port + TEMPORAL_EXTRA_PORTS <= MAX_TEMPORAL_PORT,
      `must be at most ${MAX_TEMPORAL_PORT - TEMPORAL_EXTRA_PORTS}: the server uses it and the next ${TEMPORAL_EXTRA_PORTS}, and its SQL schema stores ports as smallint`,
    ),
    `\`${DEFAULT_CLUSTER_TEMPORAL_PORT}\``,
    `client (frontend gRPC) port of the cluster's Temporal server; its internal ports are the next ${TEMPORAL_EXTRA_PORTS} (all at most ${MAX_TEMPORAL_PORT})`,
  ),
  uiPort: variable(
    'CLUSTER_UI_PORT',
    positiveInteger(DEFAULT_CLUSTER_UI_PORT),
    `\`${DEFAULT_CLUSTER_UI_PORT}\``,
    "port of the cluster's Temporal Web UI, when one is built",
  ),
  postgresPort: variable(
    'CLUSTER_POSTGRES_PORT',
    positiveInteger(DEFAULT_CLUSTER_POSTGRES_PORT),
    `\`${DEFAULT_CLUSTER_POSTGRES_PORT}\``,
    "port of the cluster's embedded PostgreSQL (service databases, temporal, temporal_visibility)",
  ),
  replicas: variable(
    'CLUSTER_WORKER_REPLICAS',
    positiveInteger(2),
    '`2`',
    'how many processes of each worker npm run start:cluster runs',
  ),
};

/** The npm run start:cluster kind, for the README's configuration table. */
export const CLUSTER_KIND: ConfigKind = {
  readBy: 'npm run start:cluster',
  variables: [...Object.values(CLUSTER_VARIABLES), ...SEED_VARIABLES, ...Object.values(POLICY_VARIABLES)],
};

export interface ClusterConfig {
  /** Absolute. */
  dataDir: string;
  gatewayPort: number;
  temporalPort: number;
  uiPort: number;
  postgresPort: number;
  replicas: number;
  restartPolicy: RestartPolicy;
}

export function loadClusterConfig(env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const { values, restartPolicy } = readAll((read) => ({
    values: read(() => readVariables(CLUSTER_VARIABLES, env)),
    restartPolicy: read(() => restartPolicyFromEnv(env)),
  }));
  return {
    ...values,
    dataDir: path.resolve(values.dataDir ?? path.join(ROOT, '.data', 'cluster')),
    restartPolicy,
  };
}
