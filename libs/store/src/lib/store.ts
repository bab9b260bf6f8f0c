import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../generated/prisma/client';

export interface StoreOptions {
  databaseUrl: string;
  /** Connections in this process's pool; the event log uses one at a time, the rest serve reads. */
  poolSize?: number;
  /** Fail a connection attempt after this long, so an unreachable Postgres answers 503 quickly. */
  connectTimeoutMs?: number;
  /** Give up on a query after this long (503); Postgres itself cancels it a little earlier. Default 15 s. */
  queryTimeoutMs?: number;
}

/**
 * The server-side limit under the client-side one. The client's `query_timeout` alone only stops
 * waiting: the statement runs on in Postgres and may commit after the caller answered 503, so the
 * retry stores it twice. Cancelled by the server first, it rolls back and the 503 is true.
 */
export function statementTimeoutFor(queryTimeoutMs: number): number {
  return Math.max(1, Math.round(queryTimeoutMs - Math.min(1_000, queryTimeoutMs / 5)));
}

/**
 * One pg pool per process, shared by the Prisma client (through the engine-free pg adapter) and the
 * event log's hand-written multi-row insert, which is the one hot path where Prisma's per-query
 * overhead would cost more than the SQL.
 */
export interface Store {
  prisma: PrismaClient;
  pool: Pool;
  schema: string | undefined;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createStore({
  databaseUrl,
  poolSize = 10,
  connectTimeoutMs = 3_000,
  queryTimeoutMs = 15_000,
}: StoreOptions): Store {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  const pool = new Pool({
    connectionString: url.toString(),
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    // A query stuck behind a dead connection must not hold an HTTP request forever.
    query_timeout: queryTimeoutMs,
    options: [
      `-c statement_timeout=${statementTimeoutFor(queryTimeoutMs)}`,
      ...(schema ? [`-c search_path="${schema.replace(/"/g, '')}"`] : []),
    ].join(' '),
  });
  // An idle client's connection dying (Postgres restart) emits 'error' on the pool; without a listener
  // it would crash the process. The next checkout simply opens a new connection.
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema }) });
  let closed = false;
  return {
    prisma,
    pool,
    schema,
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}
