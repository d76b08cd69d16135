/**
 * Shared Prisma CLI configuration for every service schema: the WebAssembly schema engine over the
 * `pg` driver adapter, so `prisma generate` and `prisma migrate deploy` run without downloading
 * native engines.
 */
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

const PG_TYPE_NAME = 19;
const PG_TYPE_CHAR = 18;
const PG_TYPE_TEXT = 25;

/**
 * Works around prisma/orm#27403: the pg adapter cannot map the catalog types `name` and `char`,
 * which the schema engine reads while introspecting. Reporting them as `text` is lossless for it.
 * Kept here, in the migration configuration only; the services' runtime clients never see it.
 */
function reportCatalogTypesAsText(): void {
  const query = pg.Query.prototype as unknown as {
    handleRowDescription(message: { fields: { dataTypeID: number }[] }): void;
    catalogTypesPatched?: boolean;
  };
  if (query.catalogTypesPatched) return;
  const original = query.handleRowDescription;
  query.handleRowDescription = function (message) {
    for (const field of message.fields) {
      if (field.dataTypeID === PG_TYPE_NAME || field.dataTypeID === PG_TYPE_CHAR) field.dataTypeID = PG_TYPE_TEXT;
    }
    original.call(this, message);
  };
  query.catalogTypesPatched = true;
}

export function defineServiceConfig(service: string, databaseUrlVariable: string) {
  const directory = path.join(__dirname, service);
  return defineConfig({
    experimental: { adapter: true },
    engine: 'js',
    schema: path.join(directory, 'schema.prisma'),
    migrations: { path: path.join(directory, 'migrations') },
    adapter: async () => {
      reportCatalogTypesAsText();
      const connectionString = process.env[databaseUrlVariable];
      if (!connectionString) throw new Error(`${databaseUrlVariable} is not set`);
      // Let the CLI exit as soon as it is done instead of waiting for idle connections to time out.
      return new PrismaPg({ connectionString, allowExitOnIdle: true, idleTimeoutMillis: 100 });
    },
  });
}
