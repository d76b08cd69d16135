/** User service: accounts, salted scrypt password hashes and roles. Sole owner of the user database. */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { UserDb } from '../lib/databases';
import { isUniqueViolation } from '../lib/databases';
import { ServiceError } from '../lib/errors';

export type Role = 'CUSTOMER' | 'ADMIN';

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

/** scrypt cost: N=2^15 takes tens of milliseconds a hash here, which is what makes guessing slow. */
const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } satisfies ScryptOptions;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, KEY_LENGTH, params, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** Encodes as `scrypt$N$r$p$salt$hash` (base64) so the cost can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT_PARAMS);
  return [
    'scrypt',
    SCRYPT_PARAMS.N,
    SCRYPT_PARAMS.r,
    SCRYPT_PARAMS.p,
    salt.toString('base64'),
    key.toString('base64'),
  ].join('$');
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = encoded.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT_PARAMS.maxmem,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const userFields = { id: true, email: true, name: true, address: true, role: true } as const;

/** Compared against when the email is unknown, so a login takes as long whether or not the account exists. */
const decoyHash = hashPassword(randomBytes(16).toString('hex'));

export function createUserService(db: UserDb) {
  return {
    async register(user: NewUser): Promise<User> {
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
      return { id: found.id, email: found.email, name: found.name, address: found.address, role: found.role };
    },

    async getUser(id: number): Promise<User | null> {
      return db.user.findUnique({ where: { id }, select: userFields });
    },

    async findByEmail(email: string): Promise<User | null> {
      return db.user.findUnique({ where: { email: email.toLowerCase() }, select: userFields });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
