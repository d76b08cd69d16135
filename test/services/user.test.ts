/**
 * The user service (services/user.ts) against its real PostgreSQL database: the reads the gateway's token check and
 * admin pages use, the rehash of an old password hash on login, and the rate limit counts every gateway replica
 * shares (table rate_limit_hits). The account rules of registration and login are in rules.test.ts.
 *
 * The mutation run keeps one database for all its test runs, so every test uses emails and rate limit keys of its
 * own.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectUserDb } from '../../lib/databases';
import { CURRENT_COST, hashPassword, needsRehash } from '../../services/passwords';
import { createUserService } from '../../services/user';
import { serviceError } from '../support/services';

const db = connectUserDb();
const users = createUserService(db);

afterAll(async () => {
  await db.$disconnect();
});

function unique(): string {
  return randomUUID().slice(0, 8);
}

async function registered(password = 'pw') {
  return users.register({ email: `user-${unique()}@example.com`, password, name: '박지훈', address: '대구' });
}

async function storedHash(id: number): Promise<string> {
  return (await db.user.findUniqueOrThrow({ where: { id } })).passwordHash;
}

describe('reads', () => {
  test('requireUser returns the account, or NOT_FOUND naming the id', async () => {
    const user = await registered();

    expect(await users.requireUser(user.id)).toEqual(user);
    const missing = await serviceError(users.requireUser(user.id + 1_000_000));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toBe(`user ${user.id + 1_000_000} does not exist`);
  });

  test('findAccount gives only the id and the role the account has now, or null once it is gone', async () => {
    const user = await registered();

    expect(await users.findAccount(user.id)).toEqual({ id: user.id, role: 'CUSTOMER' });
    await db.user.update({ where: { id: user.id }, data: { role: 'ADMIN' } });
    expect(await users.findAccount(user.id)).toEqual({ id: user.id, role: 'ADMIN' });
    await db.user.delete({ where: { id: user.id } });
    expect(await users.findAccount(user.id)).toBeNull();
  });
});

describe('password hashes on login', () => {
  test('a hash made at an older cost is replaced by one at the current cost when the password is proven', async () => {
    const user = await registered('old-pw');
    const bystander = await registered('other-pw');
    const bystanderHash = await storedHash(bystander.id);
    const old = await hashPassword('old-pw', { ...CURRENT_COST, N: CURRENT_COST.N / 4 });
    await db.user.update({ where: { id: user.id }, data: { passwordHash: old } });
    expect(needsRehash(old)).toBe(true);

    expect(await users.authenticate(user.email, 'old-pw')).toEqual(user);

    const renewed = await storedHash(user.id);
    expect(renewed).not.toBe(old);
    expect(needsRehash(renewed)).toBe(false);
    // The new hash still proves the same password.
    expect(await users.authenticate(user.email, 'old-pw')).toEqual(user);
    // Only this account's hash changed.
    expect(await storedHash(bystander.id)).toBe(bystanderHash);
  });

  test('a hash at the current cost is left as it is', async () => {
    const user = await registered('pw');
    const before = await storedHash(user.id);

    await users.authenticate(user.email, 'pw');

    expect(await storedHash(user.id)).toBe(before);
  });

  test('a wrong password never rehashes, even an old hash', async () => {
    const user = await registered('right');
    const old = await hashPassword('right', { ...CURRENT_COST, N: CURRENT_COST.N / 4 });
    await db.user.update({ where: { id: user.id }, data: { passwordHash: old } });

    await serviceError(users.authenticate(user.email, 'wrong'));

    expect(await storedHash(user.id)).toBe(old);
  });
});

describe('rate limit counts', () => {
  const counts = users.rateLimitHits;

  test('hits of a key are counted in one window that starts with the first hit', async () => {
    const key = `count-${unique()}`;
    const before = Date.now();

    const first = await counts.increment(key, 60_000);
    const second = await counts.increment(key, 60_000);

    expect(first.hits).toBe(1);
    expect(second).toEqual({ hits: 2, resetAt: first.resetAt });
    // The window is 60 s from the first hit, on the database's clock (the same machine's here).
    expect(first.resetAt.getTime() - before).toBeGreaterThan(58_000);
    expect(first.resetAt.getTime() - before).toBeLessThan(62_000);
    expect(await counts.get(key)).toEqual(second);
  });

  test('a hit taken back lowers the count, never below zero; a reset forgets the key', async () => {
    const key = `back-${unique()}`;
    await counts.increment(key, 60_000);
    await counts.increment(key, 60_000);

    await counts.decrement(key);
    expect((await counts.get(key))?.hits).toBe(1);
    await counts.decrement(key);
    await counts.decrement(key);
    expect((await counts.get(key))?.hits).toBe(0);

    await counts.reset(key);
    expect(await counts.get(key)).toBeUndefined();
    expect((await counts.increment(key, 60_000)).hits).toBe(1);
  });

  test('once its window has ended, a key reads as unknown and its next hit starts a new window', async () => {
    const key = `window-${unique()}`;
    const first = await counts.increment(key, 1_000);
    await counts.increment(key, 1_000);
    await sleep(1_200);

    expect(await counts.get(key)).toBeUndefined();
    const next = await counts.increment(key, 1_000);
    expect(next.hits).toBe(1);
    expect(next.resetAt.getTime()).toBeGreaterThan(first.resetAt.getTime());
  });

  test('ended windows are swept by the first hit of a process, then at most once a minute', async () => {
    const expired = async () => {
      const key = `expired-${unique()}`;
      await db.$executeRaw`INSERT INTO rate_limit_hits (key, hits, reset_at) VALUES (${key}, 3, now() - interval '1 minute')`;
      return key;
    };
    const stored = async (key: string) =>
      (await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM rate_limit_hits WHERE key = ${key}`)[0]!.n;
    // A new service is a new process as far as the sweep goes.
    const fresh = createUserService(db).rateLimitHits;

    const before = await expired();
    await fresh.increment(`sweeper-${unique()}`, 60_000);
    expect(await stored(before)).toBe(0);

    const after = await expired();
    await fresh.increment(`sweeper-${unique()}`, 60_000);
    expect(await stored(after)).toBe(1);
  });
});
