/** Generates the Prisma clients only (the Docker image build; it needs no Temporal CLI). */
import { generatePrismaClients } from './lib/prisma-clients';

generatePrismaClients().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
