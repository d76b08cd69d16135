/** Prisma clients, one per service database, all over the `pg` driver adapter (no native query engine). */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { PrismaPg } from '@prisma/adapter-pg';
import pg, { type PoolClient, type PoolConfig } from 'pg';
import { PrismaClient as CouponClient } from '../prisma/coupon/generated/client';
import { PrismaClient as ItemClient } from '../prisma/item/generated/client';
import { PrismaClient as OrderClient } from '../prisma/order/generated/client';
import { PrismaClient as PaymentClient } from '../prisma/payment/generated/client';
import { PrismaClient as UserClient } from '../prisma/user/generated/client';
import { SESSION_LIMIT_VARIABLES, TRACER_NAME, databaseUrl, readVariables, type ServiceName } from './config';

export type UserDb = InstanceType<typeof UserClient>;
export type ItemDb = InstanceType<typeof ItemClient>;
export type CouponDb = InstanceType<typeof CouponClient>;
export type PaymentDb = InstanceType<typeof PaymentClient>;
export type OrderDb = InstanceType<typeof OrderClient>;

/**
 * Bounds on every PostgreSQL session a process opens. Without them a session that waits on a row lock held by
 * a crashed or stuck peer waits forever, and a transaction whose process froze keeps its locks forever.
 */
export interface SessionLimits {
  /** A statement waiting this long for a lock fails (55P03) instead of hanging; the activity then retries. */
  lockTimeoutMs: number;
  /** Any statement running this long is cancelled (57014). */
  statementTimeoutMs: number;
  /** The server ends a session that sits this long inside an open transaction (25P03), releasing its locks. */
  idleInTransactionTimeoutMs: number;
  /** Opening a connection, or waiting for a free one in the pool, fails after this long. */
  connectionTimeoutMs: number;
}

export {
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
} from './config';
/** Connections per process and database; the workers run few activities at once. */
export const POOL_SIZE = 10;
/** First TCP keep-alive probe after this much silence, so a connection to a vanished server is noticed. */
export const KEEP_ALIVE_INITIAL_DELAY_MS = 10_000;

/** The limits from the environment (`DB_LOCK_TIMEOUT_MS`, …; declared in lib/config.ts), each with its default. */
export function sessionLimits(env: NodeJS.ProcessEnv = process.env): SessionLimits {
  return readVariables(SESSION_LIMIT_VARIABLES, env);
}

/**
 * The pg pool settings of a service database. The timeouts travel as startup parameters, so they hold for
 * every session of the pool from its first statement on; `application_name` names the service in
 * `pg_stat_activity`, so an operator sees whose session holds a lock.
 */
export function poolConfig(service: ServiceName, connectionString: string, limits: SessionLimits): PoolConfig {
  return {
    connectionString,
    max: POOL_SIZE,
    application_name: `order-saga:${service}`,
    lock_timeout: limits.lockTimeoutMs,
    statement_timeout: limits.statementTimeoutMs,
    idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
    connectionTimeoutMillis: limits.connectionTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEP_ALIVE_INITIAL_DELAY_MS,
  };
}

/**
 * The pool of a service database, hardened against connections that die (PostgreSQL restarted, a session
 * terminated by an operator or by idle_in_transaction_session_timeout):
 * - an idle pooled connection that fails makes the pool emit 'error', which would crash the process if nobody
 *   listened; the pool drops that connection itself and opens a new one on the next query, so a warning will do;
 * - a connection that dies while checked out inside a Prisma interactive transaction is never given back:
 *   Prisma 6.19 only releases it after a successful ROLLBACK, which a dead connection cannot run, so each such
 *   death would cost the pool a slot for good (and make $disconnect hang). Such a connection is released here,
 *   with an error so the pool discards it, once the code that used it had its turn to release it.
 */
export function createPool(service: ServiceName, config: PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  const checkedOut = new Set<PoolClient>();
  pool.on('error', (error) => warn(service, `an idle connection failed (${error.message}); it will be replaced`));
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_error, client) => checkedOut.delete(client));
  pool.on('connect', (client) => {
    traceQueries(service, client);
    client.once('end', () =>
      setImmediate(() => {
        if (!checkedOut.has(client)) return;
        warn(service, 'a connection in use was lost; it leaves the pool');
        client.release(new Error(`${service} database: the connection was lost while in use`));
        client.release = () => undefined; // a late release by its user must not throw
      }),
    );
  });
  return pool;
}

/** Where pool warnings go: standard error, until a process hands its logger (logDatabaseWarningsTo). */
let warnSink = (service: ServiceName, message: string): void => console.warn(`${service} database: ${message}`);
/**
 * A span per SQL statement, child of whatever runs it (an activity attempt, an HTTP request): the statement's
 * text as Prisma sends it, with `$1`-style parameters, so no value (a card token) reaches the trace. Every query
 * of the pool, Prisma's and `$queryRaw`'s, goes through its clients' `query`.
 */
function traceQueries(service: ServiceName, client: PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : first?.text;
    if (text === undefined) return query(...args);
    const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
    const span = trace.getTracer(TRACER_NAME).startSpan(`${operation} ${service}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system': 'postgresql', 'db.namespace': service, 'db.query.text': text.slice(0, 2_000) },
    });
    const end = (error?: unknown) => {
      if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      span.end();
    };
    const callback = args.findIndex((arg) => typeof arg === 'function');
    if (callback >= 0) {
      const done = args[callback] as (error: unknown, ...rest: unknown[]) => void;
      args[callback] = (error: unknown, ...rest: unknown[]) => {
        end(error);
        done(error, ...rest);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) result.then(() => end(), end);
    else end();
    return result;
  };
}

function warn(service: ServiceName, message: string): void {
  warnSink(service, message);
}

/** Sends the pools' warnings to a process's logger, as JSON lines like the rest of its output. */
export function logDatabaseWarningsTo(logger: { warn(fields: object, message: string): void }): void {
  warnSink = (service, message) => logger.warn({ database: service }, `${service} database: ${message}`);
}

/**
 * What every service's PrismaClient is built with: the hardened pool, and interactive transactions bounded by the
 * same limits as the sessions. Prisma's own defaults (2 s to start a transaction, 5 s to finish it) are tighter
 * than the pool's connection wait and the statement timeout, so on a busy machine a transaction that the database
 * would still serve failed first, as a 503 to the customer.
 */
function clientOptions(service: ServiceName, url: string, overrides: Partial<SessionLimits>) {
  const limits = { ...sessionLimits(), ...overrides };
  const pool = createPool(service, poolConfig(service, url, limits));
  return {
    adapter: new PrismaPg(pool, { disposeExternalPool: true }),
    transactionOptions: { maxWait: limits.connectionTimeoutMs, timeout: limits.statementTimeoutMs },
  };
}

export const connectUserDb = (url = databaseUrl('user'), limits: Partial<SessionLimits> = {}): UserDb =>
  new UserClient(clientOptions('user', url, limits));
export const connectItemDb = (url = databaseUrl('item'), limits: Partial<SessionLimits> = {}): ItemDb =>
  new ItemClient(clientOptions('item', url, limits));
export const connectCouponDb = (url = databaseUrl('coupon'), limits: Partial<SessionLimits> = {}): CouponDb =>
  new CouponClient(clientOptions('coupon', url, limits));
export const connectPaymentDb = (url = databaseUrl('payment'), limits: Partial<SessionLimits> = {}): PaymentDb =>
  new PaymentClient(clientOptions('payment', url, limits));
export const connectOrderDb = (url = databaseUrl('order'), limits: Partial<SessionLimits> = {}): OrderDb =>
  new OrderClient(clientOptions('order', url, limits));

/** True when a Prisma error is a unique-constraint violation. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}
