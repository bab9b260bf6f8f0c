#!/usr/bin/env node
// Applies pending prisma/migrations/*/migration.sql in name order with nothing but `pg`.
// It keeps Prisma Migrate's own bookkeeping (same `_prisma_migrations` table, sha256 checksums and
// advisory lock), so `prisma migrate deploy` / `migrate status` accept a database migrated here and
// the other way round. See tools/prisma-migrate/README.md.
//
//   DATABASE_URL=postgresql://user@host:5432/db?schema=public node tools/prisma-migrate/apply.mjs
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));
const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/sandbox_relay';
const PRISMA_LOCK_ID = 72707369; // the advisory lock id Prisma Migrate takes

// Prisma's DDL, verbatim.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** Applies every pending migration and returns the names applied. Throws on the first failure. */
export async function applyMigrations({
  databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
  log = console.log,
} = {}) {
  // pg does not know Prisma's `?schema=`; strip it and use it as the search_path instead.
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema') ?? 'public';
  url.searchParams.delete('schema');

  const client = new pg.Client({ connectionString: url.href });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_LOCK_ID]);
    const quotedSchema = client.escapeIdentifier(schema);
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (!rowCount) await client.query(`CREATE SCHEMA ${quotedSchema}`);
    await client.query(`SET search_path TO ${quotedSchema}`);
    await client.query(CREATE_MIGRATIONS_TABLE);

    const { rows } = await client.query(
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations WHERE rolled_back_at IS NULL',
    );
    const failed = rows.find((row) => !row.finished_at);
    if (failed) {
      throw new Error(
        `migration ${failed.migration_name} failed earlier (see its logs in _prisma_migrations). Fix the ` +
          `database, then mark it with \`prisma6.mjs migrate resolve --rolled-back|--applied ${failed.migration_name}\`.`,
      );
    }
    const applied = new Map(rows.map((row) => [row.migration_name, row.checksum]));

    const names = existsSync(MIGRATIONS_DIR)
      ? readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
          .sort()
      : [];
    const done = [];
    for (const name of names) {
      const script = readFileSync(join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8');
      const checksum = sha256(script);
      if (applied.has(name)) {
        if (applied.get(name) !== checksum) log(`warning: ${name} was modified after it was applied`);
        continue;
      }
      const id = randomUUID();
      await client.query('INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ($1, $2, $3)', [
        id,
        checksum,
        name,
      ]);
      try {
        await client.query(script); // no parameters: simple-query protocol, one implicit transaction
      } catch (error) {
        await client.query('UPDATE _prisma_migrations SET logs = $2 WHERE id = $1', [id, error.stack ?? String(error)]);
        throw new Error(`migration ${name} failed: ${error.message}`, { cause: error });
      }
      await client.query('UPDATE _prisma_migrations SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [
        id,
      ]);
      log(`applied ${name}`);
      done.push(name);
    }
    if (!done.length) log('no pending migrations');
    return done;
  } finally {
    await client.end(); // also releases the advisory lock
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  applyMigrations().catch((error) => {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  });
}
