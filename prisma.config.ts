import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  // Prisma 7 does not load .env, and env('DATABASE_URL') throws when unset, which would break
  // `prisma generate` during a plain `npm ci`. The placeholder is never connected to.
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/placeholder' },
});
