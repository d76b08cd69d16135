/** Accounts and authentication through the real gateway: sign-up, login, profile, token checks, login limit. */
import { randomUUID } from 'node:crypto';
import { DEFAULT_JWT_AUDIENCE } from '../../api/config';
import { SEED_CUSTOMER } from '../../scripts/lib/seed';
import { CURRENT_COST, hashPassword, needsRehash } from '../../services/passwords';
import { aUser, request, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { expectProblem, fieldPaths, signedToken, startGateway, unsignedToken, withRewrittenPayload } from './support';

let system: TestSystem;
let customer: TestUser;

beforeAll(async () => {
  system = await startTestSystem();
  customer = await aUser(system);
});

afterAll(async () => {
  await system?.stop();
});

const newAccount = () => ({
  email: `new-${randomUUID()}@example.com`,
  name: '김철수',
  address: '서울 동작구',
  password: 'a long enough password',
});

describe('POST /users', () => {
  test('when a visitor signs up, then 201 with the new id, and that account logs in as a CUSTOMER', async () => {
    const account = newAccount();

    const created = await request(system, 'POST', '/users', { body: account });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(Number) });

    const login = await request(system, 'POST', '/users/login', {
      body: { email: account.email, password: account.password },
    });
    const me = await request(system, 'GET', '/users/me', { token: login.body.accessToken });
    expect(me.body).toEqual({
      id: created.body.id,
      email: account.email,
      name: account.name,
      address: account.address,
      role: 'CUSTOMER',
    });
  });

  test('when the email is already registered (in any letter case), then 409 DUPLICATE', async () => {
    const account = newAccount();
    await request(system, 'POST', '/users', { body: account });

    const again = await request(system, 'POST', '/users', {
      body: { ...account, email: account.email.toUpperCase() },
    });

    expectProblem(again, 409, 'DUPLICATE');
  });

  test('when the sign-up asks for the ADMIN role, then 400 and no account is created', async () => {
    const account = newAccount();

    const response = await request(system, 'POST', '/users', { body: { ...account, role: 'ADMIN' } });

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(await system.services.users.findByEmail(account.email)).toBeNull();
  });

  test('when fields are missing or malformed, then 400 naming each field', async () => {
    const response = await request(system, 'POST', '/users', {
      body: { email: 'not-an-email', name: '', password: 'short' },
    });

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(fieldPaths(response).sort()).toEqual(['body.address', 'body.email', 'body.name', 'body.password']);
  });
});

describe('sign-up limit per address', () => {
  test('when one address keeps signing up past the limit, then 429 problem+json and no account is created', async () => {
    const gateway = await startGateway(system, { signUpRateLimit: { limit: 2, windowMs: 3_600_000 } });
    try {
      const signUp = (account: ReturnType<typeof newAccount>) => request(gateway, 'POST', '/users', { body: account });
      expect((await signUp(newAccount())).status).toBe(201);
      expect((await signUp(newAccount())).status).toBe(201);

      const flooding = newAccount();
      const blocked = await signUp(flooding);

      expectProblem(blocked, 429, 'TOO_MANY_REQUESTS');
      expect(await system.services.users.findByEmail(flooding.email)).toBeNull();
      // Login is another route with its own limit.
      const login = await request(gateway, 'POST', '/users/login', {
        body: { email: customer.email, password: customer.password },
      });
      expect(login.status).toBe(200);
    } finally {
      await gateway.stop();
    }
  });
});

describe('POST /users/login', () => {
  test('when the seed customer logs in, then 200 with a Bearer token and its lifetime', async () => {
    const response = await request(system, 'POST', '/users/login', {
      body: { email: SEED_CUSTOMER.email, password: SEED_CUSTOMER.password },
    });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 600 });
    const [header] = response.body.accessToken.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'HS256' });
  });

  test('when an account still has a hash from an older scrypt cost, then login works and stores a current-cost hash', async () => {
    const account = newAccount();
    const created = await request(system, 'POST', '/users', { body: account });
    const oldHash = await hashPassword(account.password, { N: 2 ** 15, r: 8, p: 1 });
    await system.db.user.user.update({ where: { id: created.body.id }, data: { passwordHash: oldHash } });

    const login = await request(system, 'POST', '/users/login', {
      body: { email: account.email, password: account.password },
    });

    expect(login.status).toBe(200);
    const stored = await system.db.user.user.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(stored.passwordHash).not.toBe(oldHash);
    expect(needsRehash(stored.passwordHash)).toBe(false);
    expect(stored.passwordHash.startsWith(`scrypt$${CURRENT_COST.N}$${CURRENT_COST.r}$${CURRENT_COST.p}$`)).toBe(true);
    const again = await request(system, 'POST', '/users/login', {
      body: { email: account.email, password: account.password },
    });
    expect(again.status).toBe(200);
  });

  test('when the password is wrong or the email unknown, then the same 401 for both', async () => {
    const wrongPassword = await request(system, 'POST', '/users/login', {
      body: { email: customer.email, password: 'not the password' },
    });
    const unknownEmail = await request(system, 'POST', '/users/login', {
      body: { email: `nobody-${randomUUID()}@example.com`, password: 'whatever' },
    });

    expectProblem(wrongPassword, 401, 'INVALID_CREDENTIALS');
    expectProblem(unknownEmail, 401, 'INVALID_CREDENTIALS');
    expect(unknownEmail.body.detail).toBe(wrongPassword.body.detail);
  });

  test('when a client keeps trying past the login limit, then 429 problem+json, even with the right password', async () => {
    const gateway = await startGateway(system, { loginRateLimit: { limit: 2, windowMs: 60_000 } });
    try {
      const attempt = () =>
        request(gateway, 'POST', '/users/login', { body: { email: customer.email, password: 'guess' } });
      expect((await attempt()).status).toBe(401);
      expect((await attempt()).status).toBe(401);

      const blocked = await attempt();
      expectProblem(blocked, 429, 'TOO_MANY_REQUESTS');
      expect(blocked.headers.get('ratelimit-policy')).toContain('2;w=60');

      const rightPassword = await request(gateway, 'POST', '/users/login', {
        body: { email: customer.email, password: customer.password },
      });
      expectProblem(rightPassword, 429, 'TOO_MANY_REQUESTS');
    } finally {
      await gateway.stop();
    }
  });
});

describe('login limits per account, proxies and the shared store', () => {
  const guess = (gateway: { baseUrl: string }, email: string, forwardedFor?: string) =>
    request(gateway, 'POST', '/users/login', {
      body: { email, password: 'a wrong guess' },
      ...(forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {}),
    });

  test('when guesses at one account come from many addresses (any spelling of the email), then the account limit answers 429, even to the right password', async () => {
    const target = await aUser(system);
    const gateway = await startGateway(system, {
      trustProxy: 1,
      loginRateLimit: { limit: 100, windowMs: 60_000 },
      loginAccountRateLimit: { limit: 3, windowMs: 60_000 },
    });
    try {
      expect((await guess(gateway, target.email, '203.0.113.1')).status).toBe(401);
      expect((await guess(gateway, target.email.replace(/^u/, 'U'), '203.0.113.2')).status).toBe(401);
      expect((await guess(gateway, target.email.toUpperCase(), '203.0.113.3')).status).toBe(401);

      expectProblem(await guess(gateway, target.email, '203.0.113.4'), 429, 'TOO_MANY_REQUESTS');
      const owner = await request(gateway, 'POST', '/users/login', {
        body: { email: target.email, password: target.password },
        headers: { 'x-forwarded-for': '198.51.100.7' },
      });
      expectProblem(owner, 429, 'TOO_MANY_REQUESTS');
      // Another account is not held back.
      expect((await guess(gateway, customer.email, '203.0.113.4')).status).toBe(401);
    } finally {
      await gateway.stop();
    }
  });

  test('when successful logins repeat, then they do not use up the account limit', async () => {
    const owner = await aUser(system);
    const gateway = await startGateway(system, { loginAccountRateLimit: { limit: 2, windowMs: 60_000 } });
    try {
      const login = () =>
        request(gateway, 'POST', '/users/login', { body: { email: owner.email, password: owner.password } });
      for (let attempt = 0; attempt < 3; attempt += 1) expect((await login()).status).toBe(200);
    } finally {
      await gateway.stop();
    }
  });

  test('when TRUST_PROXY is off, then X-Forwarded-For does not reset the per-address limit', async () => {
    const gateway = await startGateway(system, { loginRateLimit: { limit: 2, windowMs: 60_000 } });
    try {
      expect((await guess(gateway, customer.email, '203.0.113.10')).status).toBe(401);
      expect((await guess(gateway, customer.email, '203.0.113.11')).status).toBe(401);

      expectProblem(await guess(gateway, customer.email, '203.0.113.12'), 429, 'TOO_MANY_REQUESTS');
    } finally {
      await gateway.stop();
    }
  });

  test('when TRUST_PROXY trusts the proxy in front, then each forwarded client has a limit of its own', async () => {
    const gateway = await startGateway(system, {
      trustProxy: ['loopback'],
      loginRateLimit: { limit: 2, windowMs: 60_000 },
    });
    try {
      expect((await guess(gateway, customer.email, '203.0.113.20')).status).toBe(401);
      expect((await guess(gateway, customer.email, '203.0.113.20')).status).toBe(401);
      expectProblem(await guess(gateway, customer.email, '203.0.113.20'), 429, 'TOO_MANY_REQUESTS');

      expect((await guess(gateway, customer.email, '203.0.113.21')).status).toBe(401);
    } finally {
      await gateway.stop();
    }
  });

  test('when two gateways share the PostgreSQL store, then they share the count', async () => {
    const target = await aUser(system);
    const shared = {
      rateLimitStore: 'postgres',
      loginRateLimit: { limit: 100, windowMs: 60_000 },
      loginAccountRateLimit: { limit: 2, windowMs: 60_000 },
    } as const;
    const [first, second] = await Promise.all([startGateway(system, shared), startGateway(system, shared)]);
    try {
      expect((await guess(first, target.email)).status).toBe(401);
      expect((await guess(second, target.email)).status).toBe(401);

      const third = await guess(first, target.email);

      expectProblem(third, 429, 'TOO_MANY_REQUESTS');
      expect(third.headers.get('ratelimit')).toContain('remaining=0');
      const stored = await system.db.user.rateLimitHit.findUnique({
        where: { key: `login-account:${target.email}` },
      });
      expect(stored?.hits).toBe(3);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});

describe('GET /users/me and bearer tokens', () => {
  test('when a valid token is sent, then 200 with the profile of the token subject', async () => {
    const response = await request(system, 'GET', '/users/me', { token: customer.token });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: customer.id, email: customer.email, role: 'CUSTOMER' });
    expect(response.body).not.toHaveProperty('passwordHash');
  });

  test('when no token is sent, then 401 with a WWW-Authenticate challenge', async () => {
    const response = await request(system, 'GET', '/users/me');

    expectProblem(response, 401, 'UNAUTHORIZED');
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  test('when the token says alg none and has no signature, then 401', async () => {
    const response = await request(system, 'GET', '/users/me', { token: unsignedToken(customer.id) });

    expectProblem(response, 401, 'UNAUTHORIZED');
  });

  test('when the token payload is rewritten (role ADMIN) under the original signature, then 401', async () => {
    const tampered = withRewrittenPayload(customer.token, { role: 'ADMIN' });

    const me = await request(system, 'GET', '/users/me', { token: tampered });
    const adminRoute = await request(system, 'POST', '/items', {
      token: tampered,
      body: { name: 'forged', size: 'M', price: 1, stockQuantity: 1 },
    });

    expectProblem(me, 401, 'UNAUTHORIZED');
    expectProblem(adminRoute, 401, 'UNAUTHORIZED');
  });

  test('when the token is signed with another secret, then 401', async () => {
    const token = signedToken(
      { sub: String(customer.id), role: 'CUSTOMER' },
      'another-secret-of-the-same-length-0123456789-abcd',
    );

    expectProblem(await request(system, 'GET', '/users/me', { token }), 401, 'UNAUTHORIZED');
  });

  test('when the token expired, then 401', async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    const token = signedToken({ sub: String(customer.id), role: 'CUSTOMER', iat: past - 600, exp: past });

    expectProblem(await request(system, 'GET', '/users/me', { token }), 401, 'UNAUTHORIZED');
  });

  test('when the token comes from another issuer, then 401', async () => {
    const token = signedToken({ sub: String(customer.id), role: 'CUSTOMER', iss: 'someone-else' });

    expectProblem(await request(system, 'GET', '/users/me', { token }), 401, 'UNAUTHORIZED');
  });

  test('when a token is signed like the tests below but with every claim right, then 200 (so each 401 below is its claim)', async () => {
    const token = signedToken({ sub: String(customer.id), role: 'CUSTOMER' });

    expect((await request(system, 'GET', '/users/me', { token })).status).toBe(200);
  });

  test('when the token has no exp, then 401: a token without an end is never accepted', async () => {
    const token = signedToken({ sub: String(customer.id), role: 'CUSTOMER', exp: undefined });

    expectProblem(await request(system, 'GET', '/users/me', { token }), 401, 'UNAUTHORIZED');
  });

  test('when the token claims a lifetime longer than the configured one, then 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = signedToken({ sub: String(customer.id), role: 'CUSTOMER', iat: now, exp: now + 7 * 24 * 3600 });

    expectProblem(await request(system, 'GET', '/users/me', { token }), 401, 'UNAUTHORIZED');
  });

  test('when the token has no audience or another one, then 401', async () => {
    const noAudience = signedToken({ sub: String(customer.id), role: 'CUSTOMER', aud: undefined });
    const otherAudience = signedToken({ sub: String(customer.id), role: 'CUSTOMER', aud: 'another-api' });

    expectProblem(await request(system, 'GET', '/users/me', { token: noAudience }), 401, 'UNAUTHORIZED');
    expectProblem(await request(system, 'GET', '/users/me', { token: otherAudience }), 401, 'UNAUTHORIZED');
  });

  test('when a user logs in, then the token names the audience and ends within the configured lifetime', async () => {
    const [, payload] = customer.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));

    expect(claims).toMatchObject({ aud: DEFAULT_JWT_AUDIENCE, sub: String(customer.id) });
    expect(claims.exp - claims.iat).toBe(600);
  });

  test('when an admin is demoted, then their token loses admin access at once', async () => {
    const admin = await aUser(system, 'ADMIN');
    expect((await request(system, 'GET', '/admin/orders', { token: admin.token })).status).toBe(200);

    await system.db.user.user.update({ where: { id: admin.id }, data: { role: 'CUSTOMER' } });

    expectProblem(await request(system, 'GET', '/admin/orders', { token: admin.token }), 403, 'FORBIDDEN');
  });

  test('when an account is deleted, then its token gets 401 on every route', async () => {
    const gone = await aUser(system);
    await system.db.user.user.delete({ where: { id: gone.id } });

    expectProblem(await request(system, 'GET', '/orders', { token: gone.token }), 401, 'UNAUTHORIZED');
    expectProblem(await request(system, 'GET', '/users/me', { token: gone.token }), 401, 'UNAUTHORIZED');
  });

  test('when the token is not a JWT at all, then 401', async () => {
    expectProblem(await request(system, 'GET', '/users/me', { token: 'garbage' }), 401, 'UNAUTHORIZED');
  });
});
