/**
 * Creates an admin account, once, on any deployment: the way to get the first admin in production, where the seed
 * creates none with a known password.
 *
 *   ADMIN_PASSWORD='…16+ characters…' npm run create-admin -- --email ops@shop.example [--name 운영자]
 *
 * Without ADMIN_PASSWORD the password is read from standard input (one line), so it stays out of the shell
 * history. Connects to the user database named by USER_DATABASE_URL (the embedded one by default).
 */
import { parseArgs } from 'node:util';
import { connectUserDb } from '../lib/databases';
import { ServiceError } from '../lib/errors';
import { createUserService } from '../services/user';
import { assertProductionPassword } from './lib/seed';

async function readLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string', default: '관리자' },
      address: { type: 'string', default: '-' },
    },
  });
  if (!values.email) throw new Error('usage: npm run create-admin -- --email <email> [--name <name>]');
  const password = process.env.ADMIN_PASSWORD || (await readLine());
  assertProductionPassword('the admin password', password);

  const db = connectUserDb();
  try {
    const admin = await createUserService(db).register({
      email: values.email,
      name: values.name,
      address: values.address,
      password,
      role: 'ADMIN',
    });
    console.log(`admin ${admin.email} created with id ${admin.id}`);
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'DUPLICATE') {
      throw new Error(`an account with email ${values.email} exists already; nothing was changed`);
    }
    throw error;
  } finally {
    await db.$disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
