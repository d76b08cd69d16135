/**
 * The service registry: the one list of the shop's services and the facts every process derives its wiring from
 * (database, gateway key, worker process, task queue). Adding a service starts here; the compiler then points at
 * every place that must learn about it (the factories in lib/wiring.ts are typed by this registry).
 *
 * This module stays light on purpose: scripts that run before the Prisma clients exist (client generation,
 * migrations, the embedded PostgreSQL) read it, so it imports no Prisma client, service or activity code.
 */
import { TaskQueue } from '../workflows/definitions';

/** A service that runs activities in a worker process of its own. */
export interface WorkerDefinition {
  /** The task queue its activities (and, for the order service, the workflows) are polled from. */
  taskQueue: string;
  /** True for the one worker that also runs the workflow code. */
  runsWorkflows?: boolean;
  /**
   * Default ports of its `/health/live` and `/health/ready` endpoints and of its Prometheus metrics: one pair per
   * worker, so that `npm start` runs every worker on one machine without a clash.
   */
  ports: { health: number; metrics: number };
}

export interface ServiceDefinition {
  /** The key of its module in the gateway's and the tests' `services` object (`users`, `items`, …). */
  serviceKey: string;
  /** Absent for a service that only the gateway uses (users). */
  worker?: WorkerDefinition;
}

/**
 * Every service, in the order its database is checked, migrated and reported. The name is also the name of its
 * PostgreSQL database, of its Prisma folder (`prisma/<name>`), of its module (`services/<name>.ts`) and the
 * prefix of its `<NAME>_DATABASE_URL` variable.
 */
export const SERVICE_REGISTRY = {
  user: { serviceKey: 'users' },
  item: { serviceKey: 'items', worker: { taskQueue: TaskQueue.items, ports: { health: 9402, metrics: 9462 } } },
  coupon: { serviceKey: 'coupons', worker: { taskQueue: TaskQueue.coupons, ports: { health: 9403, metrics: 9463 } } },
  payment: {
    serviceKey: 'payments',
    worker: { taskQueue: TaskQueue.payments, ports: { health: 9404, metrics: 9464 } },
  },
  order: {
    serviceKey: 'orders',
    worker: { taskQueue: TaskQueue.orders, runsWorkflows: true, ports: { health: 9401, metrics: 9461 } },
  },
} as const satisfies Record<string, ServiceDefinition>;

export type ServiceName = keyof typeof SERVICE_REGISTRY;
export const SERVICE_NAMES = Object.keys(SERVICE_REGISTRY) as ServiceName[];

/** The services that run a worker process. */
export type WorkerServiceName = {
  [S in ServiceName]: (typeof SERVICE_REGISTRY)[S] extends { worker: WorkerDefinition } ? S : never;
}[ServiceName];

/** The gateway's (and the tests') key for a service's module. */
export type ServiceKey<S extends ServiceName> = (typeof SERVICE_REGISTRY)[S]['serviceKey'];

export function isWorkerService(service: ServiceName): service is WorkerServiceName {
  return 'worker' in SERVICE_REGISTRY[service];
}

/** The worker facts of a service that has a worker. */
export function workerOf(service: WorkerServiceName): WorkerDefinition {
  return SERVICE_REGISTRY[service].worker;
}

/**
 * The services with a worker process, the workflow worker first: `npm start` starts them in this order and
 * stops them in the reverse one, so the workflows are the last to stop polling.
 */
export const WORKER_SERVICES: WorkerServiceName[] = SERVICE_NAMES.filter(isWorkerService).sort(
  (a, b) => Number(workerOf(b).runsWorkflows ?? false) - Number(workerOf(a).runsWorkflows ?? false),
);

/** The name of a worker's OS process under `npm start` (processes.json, log prefix). */
export function workerProcessName(service: WorkerServiceName): string {
  return `${service}-worker`;
}

/** The worker's entry point, relative to the repository root. */
export function workerEntry(service: WorkerServiceName): string {
  return `workers/${service}.ts`;
}
