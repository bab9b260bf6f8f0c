/**
 * Where tests find their infrastructure. `npm test` (tools/test.mjs) makes sure both listen and the
 * test database is migrated; these defaults match it.
 */
export function testInfra(): { databaseUrl: string; redisUrl: string } {
  return {
    databaseUrl: process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay_test',
    redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}

/** A fresh id for one test's sandbox, queue or key prefix, so tests never see each other's data. */
export function uniqueId(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A TCP port nothing listens on, for "dependency unreachable" tests (port 1 is privileged and unused). */
export const CLOSED_PORT = 1;
