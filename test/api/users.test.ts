/** Accounts and authentication through the real gateway: sign-up, login, profile, token checks, login limit. */
import { randomUUID } from 'node:crypto';
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

  test('when the token is not a JWT at all, then 401', async () => {
    expectProblem(await request(system, 'GET', '/users/me', { token: 'garbage' }), 401, 'UNAUTHORIZED');
  });
});
