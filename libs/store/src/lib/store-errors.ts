import { ServiceUnavailableError } from '@sandbox-relay/service-kit';

/** Network-level failures of the pg driver: the database is unreachable, not the query wrong. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);

/**
 * Prisma's codes for the same: P1001 can't reach the server, P1002 reached but timed out, P1008
 * operation timed out, P1017 the server closed the connection, P2024 no pool connection in time.
 */
const PRISMA_UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/**
 * True when the error means "Postgres is unavailable" rather than "this statement is invalid":
 * connection errors (SQLSTATE class 08), shutdown (57P01-57P03), a statement cancelled by its
 * timeout (57014), too many connections (53300),
 * the driver's own connect/query timeouts, and Prisma's codes for the same.
 */
export function isStoreUnavailable(error: unknown): boolean {
  // Duck-typed: socket errors may come from another realm (a jest sandbox), where instanceof Error fails.
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    // 57014: cancelled by statement_timeout (the server gave up, and rolled back, before the client did).
    if (
      NETWORK_CODES.has(code) ||
      PRISMA_UNAVAILABLE_CODES.has(code) ||
      code.startsWith('08') ||
      /^57P0[1-3]$/.test(code) ||
      code === '57014' ||
      code === '53300'
    )
      return true;
  }
  return (
    typeof message === 'string' &&
    /timeout exceeded when trying to connect|Connection terminated|Query read timeout/i.test(message)
  );
}

/** Maps "unavailable" errors to 503 and leaves every other error as it is. */
export function toStoreError(error: unknown): unknown {
  return isStoreUnavailable(error)
    ? new ServiceUnavailableError('the event store is unavailable; retry later', error)
    : error;
}

/** Runs a repository's query so that an unreachable database surfaces as 503, whoever the caller is. */
export function withStoreErrors<T>(work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => Promise.reject(toStoreError(error)));
}

/** P2002: unique constraint violated (an idempotency key seen before, a duplicate branch name). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'P2002' || code === '23505';
}
