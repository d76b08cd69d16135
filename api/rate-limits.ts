/**
 * The gateway's rate limits (express-rate-limit): where their counts live, and the limiters of sign-up, login and
 * ordering. By default each gateway counts in its own memory; with RATE_LIMIT_STORE=postgres the counts live in the
 * user database, so N replicas behind a load balancer allow the limit once, not N times.
 */
import type { Request, RequestHandler } from 'express';
import {
  ipKeyGenerator,
  MemoryStore,
  rateLimit,
  type ClientRateLimitInfo,
  type Options,
  type Store,
} from 'express-rate-limit';
import type { RateLimitCounts } from '../services/user';
import type { AuthenticatedUser } from './auth';
import type { RateLimit, RateLimitStoreKind } from './config';
import { HttpProblem, sendProblem } from './problem';

/** An express-rate-limit store over the user database's rate_limit_hits table (services/user.ts). */
export class PostgresRateLimitStore implements Store {
  /** Keys are shared with every other gateway on the same database. */
  readonly localKeys = false;
  private windowMs = 60_000;

  constructor(
    private readonly counts: RateLimitCounts,
    /** Keeps the keys of one limiter apart from another's (the login and sign-up limits both key by address). */
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const found = await this.counts.get(this.prefix + key);
    return found ? { totalHits: found.hits, resetTime: found.resetAt } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { hits, resetAt } = await this.counts.increment(this.prefix + key, this.windowMs);
    return { totalHits: hits, resetTime: resetAt };
  }

  async decrement(key: string): Promise<void> {
    await this.counts.decrement(this.prefix + key);
  }

  async resetKey(key: string): Promise<void> {
    await this.counts.reset(this.prefix + key);
  }
}

export interface RateLimitStoreChoice {
  kind: RateLimitStoreKind;
  /** Needed for `postgres`. */
  counts?: RateLimitCounts;
}

/** A new store for one limiter (express-rate-limit refuses one store shared by two limiters). */
function storeFor(choice: RateLimitStoreChoice, name: string): Store {
  if (choice.kind === 'memory') return new MemoryStore();
  if (!choice.counts) throw new Error('RATE_LIMIT_STORE=postgres needs the user database');
  return new PostgresRateLimitStore(choice.counts, `${name}:`);
}

/** The client's address, IPv6 grouped by /56 so that one host cannot rotate through its own addresses. */
function clientAddress(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown');
}

/**
 * The lower-cased, trimmed email of a login attempt: the account it targets, whatever spelling was sent. A
 * body without an email gets no key; validation answers it with a 400.
 */
export function loginAccountKey(body: unknown): string | undefined {
  const email = (body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email.trim().toLowerCase() : undefined;
}

/** Lets every request through: a limit the gateway was built without (test gateways). */
const noLimit: RequestHandler = (_req, _res, next) => next();

function limiter(
  name: string,
  limit: RateLimit | undefined,
  store: RateLimitStoreChoice,
  detail: string,
  options: Partial<Options> = {},
): RequestHandler {
  if (!limit) return noLimit;
  return rateLimit({
    windowMs: limit.windowMs,
    limit: limit.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: storeFor(store, name),
    keyGenerator: clientAddress,
    handler: (_req, res) => sendProblem(res, new HttpProblem('TOO_MANY_REQUESTS', detail)),
    ...options,
  });
}

/** The limits of one gateway; one left out is not applied. */
export interface RateLimits {
  login?: RateLimit;
  loginAccount?: RateLimit;
  signUp?: RateLimit;
  orders?: RateLimit;
}

/** The limiters of the gateway's routes, each with a store of its own. */
export function createLimiters(limits: RateLimits, store: RateLimitStoreChoice) {
  return {
    /** Login attempts per client address. */
    loginByAddress: limiter('login-address', limits.login, store, 'too many login attempts; try again later'),
    /**
     * Failed login attempts per account, from any address: a distributed guesser gets LOGIN_ACCOUNT_RATE_LIMIT
     * guesses per window in all, not per address. Successful logins do not count, so the account's owner is held
     * back only while someone is guessing.
     */
    loginByAccount: limiter('login-account', limits.loginAccount, store, 'too many login attempts; try again later', {
      keyGenerator: (req) => loginAccountKey(req.body) ?? '',
      skip: (req) => loginAccountKey(req.body) === undefined,
      skipSuccessfulRequests: true,
    }),
    signUpByAddress: limiter('sign-up-address', limits.signUp, store, 'too many sign-ups; try again later'),
    /** POST /orders per customer; runs after authentication, so the caller is known. */
    ordersByCustomer: limiter('orders-customer', limits.orders, store, 'too many orders; try again later', {
      keyGenerator: (req) => String((req.user as AuthenticatedUser).id),
    }),
  };
}

export type Limiters = ReturnType<typeof createLimiters>;
