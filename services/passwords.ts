/**
 * Password hashing with scrypt, at OWASP's current minimum for scrypt, with the cost stored in each hash so that
 * it can be raised later: a login with a hash made at an older (lower) cost succeeds and tells the caller to
 * store a fresh hash (`needsRehash`), so existing accounts move to the new cost without a reset.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';

export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism (Node computes the lanes one after the other, so memory stays at 128·N·r bytes). */
  p: number;
}

/**
 * OWASP's Password Storage Cheat Sheet lists equivalent scrypt settings; N=2^14, r=8, p=5 is one of them. Of the
 * equivalent ones it needs the least memory per hash (16 MiB), which matters when many logins hash at once, and
 * on this project's 2-core reference machine it takes as long as the N=2^15, p=1 the project started with.
 */
export const CURRENT_COST: ScryptCost = { N: 2 ** 14, r: 8, p: 5 };

/** Hashes with a higher cost than this are refused instead of computed: a stored value must not exhaust memory. */
const MAX_N = 2 ** 20;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** Node refuses scrypt above `maxmem`; the need grows with N and r, so the limit follows the hash's own cost. */
function maxmemFor(cost: ScryptCost): number {
  return 128 * cost.N * cost.r + 2 * 1024 * 1024;
}

/**
 * At most this many hashes run at once. Each one holds a libuv thread and 16 MiB; without a bound a burst of
 * sign-ups or logins would queue every other file and DNS operation of the process behind them.
 */
const MAX_CONCURRENT_HASHES = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  else running += 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

function scrypt(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return withHashSlot(
    () =>
      new Promise((resolve, reject) =>
        scryptCallback(password, salt, KEY_LENGTH, { ...cost, maxmem: maxmemFor(cost) }, (error, key) =>
          error ? reject(error) : resolve(key),
        ),
      ),
  );
}

/** Encodes as `scrypt$N$r$p$salt$hash` (salt and hash in base64). */
export async function hashPassword(password: string, cost: ScryptCost = CURRENT_COST): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

interface ParsedHash {
  cost: ScryptCost;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(encoded: string): ParsedHash | undefined {
  const [scheme, n, r, p, salt, hash, ...rest] = encoded.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash || rest.length > 0) return undefined;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  const valid =
    Number.isInteger(cost.N) &&
    cost.N > 1 &&
    cost.N <= MAX_N &&
    (cost.N & (cost.N - 1)) === 0 &&
    Number.isInteger(cost.r) &&
    cost.r >= 1 &&
    cost.r <= 32 &&
    Number.isInteger(cost.p) &&
    cost.p >= 1 &&
    cost.p <= 16;
  return valid ? { cost, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') } : undefined;
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  const actual = await scrypt(password, parsed.salt, parsed.cost);
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash);
}

/**
 * True when a stored hash was made with other settings than the current ones (or cannot be read), so a login
 * that has just proved the password should store a fresh hash. Like the usual `needs rehash` checks, any
 * difference counts, so lowering the cost on purpose also migrates.
 */
export function needsRehash(encoded: string, cost: ScryptCost = CURRENT_COST): boolean {
  const parsed = parseHash(encoded);
  return !parsed || parsed.cost.N !== cost.N || parsed.cost.r !== cost.r || parsed.cost.p !== cost.p;
}
