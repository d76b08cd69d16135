/** Generates each service's Prisma client when it is missing or its schema changed since the last generation. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { embeddedDatabaseUrl, DEFAULT_POSTGRES_PORT } from '../../lib/config';
import { SERVICE_NAMES } from '../../lib/services';
import { ROOT, runPrisma } from './migrate';

export async function generatePrismaClients(log: (line: string) => void = console.log): Promise<void> {
  await Promise.all(
    SERVICE_NAMES.map(async (service) => {
      const schema = readFileSync(path.join(ROOT, 'prisma', service, 'schema.prisma'));
      const hash = createHash('sha256').update(schema).digest('hex');
      const marker = path.join(ROOT, 'prisma', service, 'generated', '.schema-hash');
      if (existsSync(marker) && readFileSync(marker, 'utf8') === hash) return;
      // generate reads no database; the URL only satisfies the schema's env() reference.
      await runPrisma(service, ['generate'], embeddedDatabaseUrl(service, DEFAULT_POSTGRES_PORT));
      writeFileSync(marker, hash);
      log(`generated the ${service} Prisma client`);
    }),
  );
}
