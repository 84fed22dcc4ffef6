import { defineConfig } from 'drizzle-kit';

/** PostgreSQL migrations (LABD_DATABASE_URL): the same tables as SQLite's, from src/db/pg-schema.ts. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/pg-schema.ts',
  out: './migrations/postgres',
});
