/** User service: accounts, salted scrypt password hashes (services/passwords.ts) and roles. Sole owner of the user database. */
import { randomBytes } from 'node:crypto';
import type { UserDb } from '../lib/databases';
import { isUniqueViolation } from '../lib/databases';
import { ServiceError, notFound } from '../lib/errors';
import { hashPassword, needsRehash, verifyPassword } from './passwords';

export const ROLES = ['CUSTOMER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return ROLES.includes(value as Role);
}

export interface User {
  id: number;
  email: string;
  name: string;
  address: string;
  role: Role;
}

export interface NewUser {
  email: string;
  name: string;
  address: string;
  password: string;
  role?: Role;
}

const userFields = { id: true, email: true, name: true, address: true, role: true } as const;

/** A rate limit count as the user database keeps it for the gateway: hits so far and when the window ends. */
export interface RateLimitHits {
  hits: number;
  resetAt: Date;
}

/** Expired counts are swept at most this often per process; a count past its window is reset anyway when hit. */
const SWEEP_INTERVAL_MS = 60_000;

/** Compared against when the email is unknown, so a login takes as long whether or not the account exists. */
const decoyHash = hashPassword(randomBytes(16).toString('hex'));

/**
 * The gateway's shared rate limit counts (table rate_limit_hits). Each call is one statement, so replicas that
 * count the same key at once never lose a hit; the window starts with the first hit and the database clock is the
 * one clock every replica agrees on.
 */
function createRateLimitHits(db: UserDb) {
  let lastSweep = 0;

  /** Deletes counts whose window has ended, so keys seen once do not pile up. */
  async function sweep(): Promise<void> {
    if (Date.now() - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = Date.now();
    await db.$executeRaw`DELETE FROM rate_limit_hits WHERE reset_at < now()`;
  }

  return {
    /** Counts one hit of the key; a key whose window has ended starts a new one of `windowMs`. */
    async increment(key: string, windowMs: number): Promise<RateLimitHits> {
      await sweep();
      const [row] = await db.$queryRaw<{ hits: number; reset_at: Date }[]>`
        INSERT INTO rate_limit_hits (key, hits, reset_at)
        VALUES (${key}, 1, now() + make_interval(secs => ${windowMs / 1000}::float8))
        ON CONFLICT (key) DO UPDATE SET
          hits = CASE WHEN rate_limit_hits.reset_at <= now() THEN 1 ELSE rate_limit_hits.hits + 1 END,
          reset_at = CASE WHEN rate_limit_hits.reset_at <= now() THEN EXCLUDED.reset_at ELSE rate_limit_hits.reset_at END
        RETURNING hits, reset_at`;
      if (!row) throw new Error(`rate limit count of ${key} was not written`);
      return { hits: row.hits, resetAt: row.reset_at };
    },

    /** Takes one hit back (a request the limiter was told not to count after all). */
    async decrement(key: string): Promise<void> {
      await db.$executeRaw`UPDATE rate_limit_hits SET hits = hits - 1 WHERE key = ${key} AND hits > 0`;
    },

    async get(key: string): Promise<RateLimitHits | undefined> {
      const [row] = await db.$queryRaw<{ hits: number; reset_at: Date }[]>`
        SELECT hits, reset_at FROM rate_limit_hits WHERE key = ${key} AND reset_at > now()`;
      return row ? { hits: row.hits, resetAt: row.reset_at } : undefined;
    },

    async reset(key: string): Promise<void> {
      await db.$executeRaw`DELETE FROM rate_limit_hits WHERE key = ${key}`;
    },
  };
}

export type RateLimitCounts = ReturnType<typeof createRateLimitHits>;

export function createUserService(db: UserDb) {
  /**
   * Replaces a hash made at an older cost with one at the current cost, right after the password was proven.
   * Conditional on the old hash, so a password changed meanwhile is never overwritten.
   */
  async function rehash(id: number, oldHash: string, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    await db.user.updateMany({ where: { id, passwordHash: oldHash }, data: { passwordHash } });
  }

  return {
    async register(user: NewUser): Promise<User> {
      // Refused before hashing, so that a flood of sign-ups for taken emails costs a lookup, not a hash each.
      // The unique index still decides a race between two sign-ups for the same new email.
      const taken = await db.user.findUnique({ where: { email: user.email.toLowerCase() }, select: { id: true } });
      if (taken) throw new ServiceError('DUPLICATE', 'an account with that email exists');
      const passwordHash = await hashPassword(user.password);
      try {
        return await db.user.create({
          data: {
            email: user.email.toLowerCase(),
            name: user.name,
            address: user.address,
            passwordHash,
            role: user.role ?? 'CUSTOMER',
          },
          select: userFields,
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ServiceError('DUPLICATE', 'an account with that email exists');
        throw error;
      }
    },

    /** The account for these credentials, or an INVALID_CREDENTIALS error that does not say which part was wrong. */
    async authenticate(email: string, password: string): Promise<User> {
      const found = await db.user.findUnique({ where: { email: email.toLowerCase() } });
      const valid = await verifyPassword(password, found?.passwordHash ?? (await decoyHash));
      if (!found || !valid) throw new ServiceError('INVALID_CREDENTIALS', 'wrong email or password');
      if (needsRehash(found.passwordHash)) await rehash(found.id, found.passwordHash, password);
      return { id: found.id, email: found.email, name: found.name, address: found.address, role: found.role };
    },

    async getUser(id: number): Promise<User | null> {
      return db.user.findUnique({ where: { id }, select: userFields });
    },

    /** The user, or NOT_FOUND: for callers that cannot go on without them. */
    async requireUser(id: number): Promise<User> {
      const user = await db.user.findUnique({ where: { id }, select: userFields });
      if (!user) throw notFound('user', id);
      return user;
    },

    /** Who the account is now (id and role), for checking a token on each request; null when it was deleted. */
    async findAccount(id: number): Promise<Pick<User, 'id' | 'role'> | null> {
      return db.user.findUnique({ where: { id }, select: { id: true, role: true } });
    },

    rateLimitHits: createRateLimitHits(db),

    async findByEmail(email: string): Promise<User | null> {
      return db.user.findUnique({ where: { email: email.toLowerCase() }, select: userFields });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
