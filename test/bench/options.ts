/** The command line of `npm run bench` (test/bench/bench.ts). */
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface BenchOptions {
  gateway: string;
  temporal: string;
  namespace: string;
  /** The stack's data folder: `processes.json` names its processes. */
  dataDir: string;
  /** Orders (and runs of each floor) of the 1-client phase, one after another. */
  orders: number;
  /** Seconds of the many-clients phase for the orders. */
  durationSeconds: number;
  /** Seconds of the many-clients phase for each floor (the floors need no soak). */
  floorSeconds: number;
  clients: number;
  /** The many-clients phase alternates blocks of each floor and of the orders this many times. */
  rounds: number;
  warmup: number;
  sampleMs: number;
  phases: ('one' | 'many')[];
  customer: { email: string; password: string };
  admin: { email: string; password: string };
}

export const USAGE = `Usage: npm run bench -- [options]   (against a running stack: npm start or npm run start:cluster)
  --gateway URL          the stack's gateway (default http://localhost:3000; --cluster: http://localhost:3100)
  --temporal HOST:PORT   the stack's Temporal frontend, where the engine floors run (default 127.0.0.1:7233;
                         --cluster: 127.0.0.1:7333)
  --namespace NAME       Temporal namespace (default default)
  --data-dir DIR         the stack's data folder holding processes.json (default .data; --cluster: .data/cluster)
  --cluster              the defaults of npm run start:cluster (CLUSTER_* variables are read)
  --orders N             orders (and runs of each floor, in turn) of the 1-client phase (default 100)
  --duration S           seconds of orders in the many-client phase (default 60; the soak: 600)
  --floor-duration S     seconds of each floor in the many-client phase (default: the duration, at most 60)
  --clients N            clients of the many-client phase (default 16)
  --rounds N             the many-client phase alternates blocks of each floor and of the orders N times (default 3)
  --warmup N             orders and runs of each floor before measuring, not counted (default 5)
  --sample-ms MS         memory sampling interval (default 5000; a sample of the whole tree costs ~0.1 s of CPU)
  --phases LIST          one,many (default both)
  --customer EMAIL:PASSWORD, --admin EMAIL:PASSWORD   accounts (default the seed data's)`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return number;
}

function account(name: string, value: string | undefined, fallback: { email: string; password: string }) {
  if (value === undefined) return fallback;
  const colon = value.indexOf(':');
  if (colon < 1) throw new Error(`--${name} must be EMAIL:PASSWORD`);
  return { email: value.slice(0, colon), password: value.slice(colon + 1) };
}

export function parseBenchOptions(argv: string[], env: NodeJS.ProcessEnv = process.env, root = process.cwd()) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      gateway: { type: 'string' },
      temporal: { type: 'string' },
      namespace: { type: 'string' },
      'data-dir': { type: 'string' },
      cluster: { type: 'boolean' },
      orders: { type: 'string' },
      duration: { type: 'string' },
      'floor-duration': { type: 'string' },
      clients: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      'sample-ms': { type: 'string' },
      phases: { type: 'string' },
      customer: { type: 'string' },
      admin: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return undefined;
  const cluster = values.cluster ?? false;
  const gatewayPort = cluster ? (env.CLUSTER_GATEWAY_PORT ?? '3100') : (env.PORT ?? '3000');
  const temporalDefault = cluster
    ? `127.0.0.1:${env.CLUSTER_TEMPORAL_PORT ?? '7333'}`
    : (env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_PORT ?? '7233'}`);
  const dataDir = cluster ? (env.CLUSTER_DATA_DIR ?? path.join('.data', 'cluster')) : (env.DATA_DIR ?? '.data');
  const durationSeconds = positive('duration', values.duration, 60);
  const phases = (values.phases ?? 'one,many').split(',').map((phase) => phase.trim());
  for (const phase of phases) {
    if (phase !== 'one' && phase !== 'many') throw new Error(`--phases takes one and many, got "${phase}"`);
  }
  const options: BenchOptions = {
    gateway: (values.gateway ?? `http://localhost:${gatewayPort}`).replace(/\/+$/, ''),
    temporal: values.temporal ?? temporalDefault,
    namespace: values.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    dataDir: path.resolve(root, values['data-dir'] ?? dataDir),
    orders: positive('orders', values.orders, 100),
    durationSeconds,
    floorSeconds: positive('floor-duration', values['floor-duration'], Math.min(durationSeconds, 60)),
    clients: positive('clients', values.clients, 16),
    rounds: positive('rounds', values.rounds, 3),
    warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup, 5),
    sampleMs: positive('sample-ms', values['sample-ms'], 5000),
    phases: phases as BenchOptions['phases'],
    customer: account('customer', values.customer, { email: 'swcho@naver.com', password: '12345678' }),
    admin: account('admin', values.admin, { email: 'admin@example.com', password: 'admin-password-1234' }),
  };
  return options;
}
