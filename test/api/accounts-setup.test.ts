/**
 * Accounts in production: the seed creates none with a known password, and the first admin comes from the one-off
 * `npm run create-admin` command, run here as a real process against the test's user database.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEVELOPMENT_ADMIN_PASSWORD, SEED_CUSTOMER, WeakPasswordError, seedAccounts } from '../../scripts/lib/seed';
import { request } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const STRONG = 'a-strong-operator-passphrase-42';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ startWorkers: [] });
});

afterAll(async () => {
  await system?.stop();
});

async function createAdmin(email: string, password: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [require.resolve('tsx/cli'), 'scripts/create-admin.ts', '--email', email],
      {
        cwd: ROOT,
        env: { ...process.env, ADMIN_PASSWORD: password },
      },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('seed accounts', () => {
  test('outside production, the demo customer and the development admin are seeded', () => {
    const accounts = seedAccounts({ NODE_ENV: 'development' });

    expect(accounts.customer).toEqual(SEED_CUSTOMER);
    expect(accounts.admin).toMatchObject({
      email: 'admin@example.com',
      password: DEVELOPMENT_ADMIN_PASSWORD,
      role: 'ADMIN',
    });
  });

  test('in production without configured passwords, no account is seeded', () => {
    expect(seedAccounts({ NODE_ENV: 'production' })).toEqual({});
  });

  test('in production, a published or short password is refused, naming the variable', () => {
    expect(() => seedAccounts({ NODE_ENV: 'production', SEED_ADMIN_PASSWORD: DEVELOPMENT_ADMIN_PASSWORD })).toThrow(
      WeakPasswordError,
    );
    expect(() => seedAccounts({ NODE_ENV: 'production', SEED_CUSTOMER_PASSWORD: 'short' })).toThrow(
      /SEED_CUSTOMER_PASSWORD is too weak/,
    );
  });

  test('in production, a strong configured password seeds that account with it', () => {
    const accounts = seedAccounts({ NODE_ENV: 'production', SEED_ADMIN_PASSWORD: STRONG });

    expect(accounts).toEqual({ admin: expect.objectContaining({ role: 'ADMIN', password: STRONG }) });
  });
});

describe('npm run create-admin', () => {
  test('with a strong password, it creates an admin who can use admin routes; a second run for the email fails', async () => {
    const email = `ops-${randomUUID()}@example.com`;

    const created = await createAdmin(email, STRONG);
    expect(created).toMatchObject({ code: 0, output: expect.stringContaining(`admin ${email} created`) });

    const login = await request(system, 'POST', '/users/login', { body: { email, password: STRONG } });
    expect(login.status).toBe(200);
    const adminList = await request(system, 'GET', '/admin/orders', { token: login.body.accessToken });
    expect(adminList.status).toBe(200);

    const again = await createAdmin(email, STRONG);
    expect(again.code).toBe(1);
    expect(again.output).toContain('exists already');
  });

  test('with a weak password, it exits 1, says why, and creates nothing', async () => {
    const email = `ops-${randomUUID()}@example.com`;

    const result = await createAdmin(email, 'admin-password-1234');

    expect(result.code).toBe(1);
    expect(result.output).toContain('too weak');
    expect(await system.db.user.user.count({ where: { email } })).toBe(0);
  });
});
