/** Password hashing: the cost meets OWASP's scrypt minimum, hashes verify, and older costs are flagged for rehash. */
import { CURRENT_COST, hashPassword, needsRehash, verifyPassword } from '../../services/passwords';

/** OWASP Password Storage Cheat Sheet: the minimum scrypt settings it lists as equivalent to each other. */
const OWASP_MINIMA = [
  { N: 2 ** 17, r: 8, p: 1 },
  { N: 2 ** 16, r: 8, p: 2 },
  { N: 2 ** 15, r: 8, p: 3 },
  { N: 2 ** 14, r: 8, p: 5 },
  { N: 2 ** 13, r: 8, p: 10 },
];

test('the current cost meets one of OWASP minimum scrypt settings and keeps memory per hash at 16 MiB or less', () => {
  const meets = OWASP_MINIMA.some(
    (minimum) => CURRENT_COST.N >= minimum.N && CURRENT_COST.r >= minimum.r && CURRENT_COST.p >= minimum.p,
  );
  expect(meets).toBe(true);
  expect(128 * CURRENT_COST.N * CURRENT_COST.r).toBeLessThanOrEqual(16 * 1024 * 1024);
});

test('a hash verifies its own password only, and records the cost it was made with', async () => {
  const encoded = await hashPassword('correct horse battery staple');

  expect(encoded.split('$').slice(0, 4)).toEqual(['scrypt', '16384', '8', '5']);
  await expect(verifyPassword('correct horse battery staple', encoded)).resolves.toBe(true);
  await expect(verifyPassword('correct horse battery stapl', encoded)).resolves.toBe(false);
  expect(needsRehash(encoded)).toBe(false);
});

test('a hash made at another cost still verifies (its own cost is used) and is flagged for rehash', async () => {
  const older = await hashPassword('pw-older', { N: 2 ** 15, r: 8, p: 1 });

  await expect(verifyPassword('pw-older', older)).resolves.toBe(true);
  expect(needsRehash(older)).toBe(true);
});

test('a cost above what Node allows by default verifies, because the memory limit follows the hash', async () => {
  // 128·2^16·8 = 64 MiB is above Node's default maxmem of 32 MiB.
  const costly = await hashPassword('pw-costly', { N: 2 ** 16, r: 8, p: 1 });

  await expect(verifyPassword('pw-costly', costly)).resolves.toBe(true);
});

test.each([
  ['another scheme', 'bcrypt$12$abc$def'],
  ['a missing part', 'scrypt$16384$8$5$c2FsdA=='],
  ['N not a power of two', 'scrypt$1000$8$1$c2FsdA==$aGFzaA=='],
  ['N beyond the allowed maximum', `scrypt$${2 ** 24}$8$1$c2FsdA==$aGFzaA==`],
  ['extra parts', 'scrypt$16384$8$5$c2FsdA==$aGFzaA==$more'],
])('a stored value with %s never verifies and is flagged for rehash', async (_, encoded) => {
  await expect(verifyPassword('anything', encoded)).resolves.toBe(false);
  expect(needsRehash(encoded)).toBe(true);
});
