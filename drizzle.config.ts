import { defineConfig } from 'drizzle-kit';

/** SQLite migrations (the embedded default). PostgreSQL's: drizzle.postgres.config.ts. */
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './migrations/sqlite',
});
