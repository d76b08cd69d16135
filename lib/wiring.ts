/**
 * How each service of the registry (lib/services.ts) is built: database → service module → activities. The
 * worker processes, the gateway and the test system all build their services here, so the chain is written once.
 * The table is typed by the registry: a service added there does not compile until it has its factories here.
 */
import { createCouponActivities } from '../activities/coupon';
import { createItemActivities } from '../activities/item';
import { DEFAULT_RECONCILER_SETTINGS, createOrderActivities, type ReconcilerSettings } from '../activities/order';
import { createPaymentActivities, sleepWhileHeartbeating } from '../activities/payment';
import { createCouponService } from '../services/coupon';
import { createItemService } from '../services/item';
import { createOrderService } from '../services/order';
import { createPaymentService } from '../services/payment';
import { createUserService } from '../services/user';
import type { DatabaseSettings } from './config';
import {
  connectCouponDb,
  connectItemDb,
  connectOrderDb,
  connectPaymentDb,
  connectUserDb,
  type SessionLimits,
} from './databases';
import { SERVICE_NAMES, SERVICE_REGISTRY, type ServiceKey, type ServiceName, type WorkerServiceName } from './services';

/** Settings some service modules or activities take; each process fills them from its own configuration. */
export interface ServiceSettings {
  /** How long the simulated card gateway hangs on `tok_timeout`. */
  cardGatewayHangMs: number;
  reconciler: ReconcilerSettings;
}

export const DEFAULT_SERVICE_SETTINGS: ServiceSettings = {
  cardGatewayHangMs: 60_000,
  reconciler: DEFAULT_RECONCILER_SETTINGS,
};

/** The activities a worker registers: named functions, as `Worker.create` takes them. */
export type ActivityFunctions = Record<string, (...args: never[]) => Promise<unknown>>;

interface Wiring<Db, Service> {
  /** Opens the service's database (a Prisma client over its own pool); without a URL, the configured one. */
  connect(url?: string, limits?: Partial<SessionLimits>): Db;
  createService(db: Db, settings: ServiceSettings): Service;
}

interface WorkerWiring<Db, Service> extends Wiring<Db, Service> {
  createActivities(service: Service, settings: ServiceSettings): ActivityFunctions;
}

/** The loosest shape of an entry, so that each entry keeps its own database and service types. */
interface AnyWiring {
  connect(url?: string, limits?: Partial<SessionLimits>): unknown;
  createService(db: never, settings: ServiceSettings): unknown;
}
interface AnyWorkerWiring extends AnyWiring {
  createActivities(service: never, settings: ServiceSettings): ActivityFunctions;
}

/** Requires an entry for every registered service, with activities exactly for the services that run a worker. */
function defineWiring<T extends { [S in ServiceName]: S extends WorkerServiceName ? AnyWorkerWiring : AnyWiring }>(
  table: T,
): T {
  return table;
}

const WIRING = defineWiring({
  user: {
    connect: connectUserDb,
    createService: (db: ReturnType<typeof connectUserDb>) => createUserService(db),
  },
  item: {
    connect: connectItemDb,
    createService: (db: ReturnType<typeof connectItemDb>) => createItemService(db),
    createActivities: (items: ReturnType<typeof createItemService>) => createItemActivities({ items }),
  },
  coupon: {
    connect: connectCouponDb,
    createService: (db: ReturnType<typeof connectCouponDb>) => createCouponService(db),
    createActivities: (coupons: ReturnType<typeof createCouponService>) => createCouponActivities({ coupons }),
  },
  payment: {
    connect: connectPaymentDb,
    // Heartbeats while the gateway hangs; stops early when the activity is cancelled or times out on the worker.
    createService: (db: ReturnType<typeof connectPaymentDb>, settings: ServiceSettings) =>
      createPaymentService(db, { hangMs: settings.cardGatewayHangMs, sleep: sleepWhileHeartbeating }),
    createActivities: (payments: ReturnType<typeof createPaymentService>) => createPaymentActivities({ payments }),
  },
  order: {
    connect: connectOrderDb,
    createService: (db: ReturnType<typeof connectOrderDb>) => createOrderService(db),
    createActivities: (orders: ReturnType<typeof createOrderService>, settings: ServiceSettings) =>
      createOrderActivities({ orders, reconciler: settings.reconciler }),
  },
});

type Table = typeof WIRING;

/**
 * One entry, seen loosely: TypeScript cannot correlate a key with its own entry's types through a union, so
 * the callers below name the types; defineWiring has already checked each entry against them.
 */
function entryOf(service: ServiceName): unknown {
  return WIRING[service];
}
export type DatabaseOf<S extends ServiceName> = ReturnType<Table[S]['connect']>;
export type ServiceOf<S extends ServiceName> = ReturnType<Table[S]['createService']>;

export type Databases = { [S in ServiceName]: DatabaseOf<S> };
export type Services = { [S in ServiceName as ServiceKey<S>]: ServiceOf<S> };

/** Opens one service's database with the given settings. */
export function connectDatabase<S extends ServiceName>(service: S, settings?: DatabaseSettings): DatabaseOf<S> {
  const wiring = entryOf(service) as Wiring<DatabaseOf<S>, unknown>;
  return wiring.connect(settings?.url, settings?.limits);
}

/** Opens every service's database; without settings each reads its configured URL. */
export function connectDatabases(settings?: Record<ServiceName, DatabaseSettings>): Databases {
  return Object.fromEntries(
    SERVICE_NAMES.map((service) => [service, connectDatabase(service, settings?.[service])]),
  ) as Databases;
}

export function createService<S extends ServiceName>(
  service: S,
  db: DatabaseOf<S>,
  settings: ServiceSettings = DEFAULT_SERVICE_SETTINGS,
): ServiceOf<S> {
  const wiring = entryOf(service) as Wiring<DatabaseOf<S>, ServiceOf<S>>;
  return wiring.createService(db, settings);
}

/** Every service module over its database, keyed as the gateway and the tests name them (`users`, `items`, …). */
export function createServices(databases: Databases, settings: ServiceSettings = DEFAULT_SERVICE_SETTINGS): Services {
  return Object.fromEntries(
    SERVICE_NAMES.map((service) => [
      SERVICE_REGISTRY[service].serviceKey,
      createService(service, databases[service], settings),
    ]),
  ) as Services;
}

export function createActivities<S extends WorkerServiceName>(
  service: S,
  serviceModule: ServiceOf<S>,
  settings: ServiceSettings = DEFAULT_SERVICE_SETTINGS,
): ActivityFunctions {
  const wiring = entryOf(service) as WorkerWiring<unknown, ServiceOf<S>>;
  return wiring.createActivities(serviceModule, settings);
}

/** Closes every database of a set, whatever happens to the others. */
export async function disconnectAll(databases: Partial<Databases>): Promise<PromiseSettledResult<void>[]> {
  return Promise.allSettled(Object.values(databases).map((db) => db.$disconnect()));
}

/** A worker's activities over an already built set of services (the test system shares one with its gateway). */
export function activitiesOver<S extends WorkerServiceName>(
  service: S,
  services: Services,
  settings: ServiceSettings = DEFAULT_SERVICE_SETTINGS,
): ActivityFunctions {
  const key: ServiceKey<S> = SERVICE_REGISTRY[service].serviceKey;
  return createActivities(service, services[key] as ServiceOf<S>, settings);
}
