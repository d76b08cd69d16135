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

/** Compared against when the email is unknown, so a login takes as long whether or not the account exists. */
const decoyHash = hashPassword(randomBytes(16).toString('hex'));

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

    async findByEmail(email: string): Promise<User | null> {
      return db.user.findUnique({ where: { email: email.toLowerCase() }, select: userFields });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
