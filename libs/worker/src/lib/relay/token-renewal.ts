import type { WorkerLogger } from '../util/logger';
import type { RenewOutcome } from './relay-http';

/** The lifetime a token is renewed at: two thirds, so a relay away for a while still leaves time. */
const RENEW_AT_FRACTION = 2 / 3;
/** Between failed attempts: at most a minute, and never so long that the token runs out unasked. */
const RETRY_CAP_MS = 60_000;
const RETRY_MIN_MS = 1_000;

export interface TokenRenewalOptions {
  token: string;
  renew: () => Promise<RenewOutcome>;
  /** Called with each fresh token; every later request carries it. */
  onRenewed: (token: string) => void;
  logger: WorkerLogger;
  now?: () => number;
}

/** `iat` and `exp` (seconds) of a JWT, read without verifying it (the relay verifies; we only schedule). */
export function tokenTimes(token: string): { issuedAtMs: number; expiresAtMs: number } | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat?: unknown; exp?: unknown };
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.exp <= claims.iat) return null;
    return { issuedAtMs: claims.iat * 1000, expiresAtMs: claims.exp * 1000 };
  } catch {
    return null;
  }
}

/**
 * Keeps the worker's sandbox token fresh: at two thirds of its lifetime it is traded for a new one
 * (`POST /api/v1/sandboxes/:id/token`), retried with backoff while the relay is away, until it
 * expires. A refusal (the sandbox was replaced or stopped) ends the renewals: the worker then goes
 * quiet on 401s like any worker whose token ran out, and the supervisor deals with it.
 */
export class TokenRenewal {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: TokenRenewalOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.scheduleFor(this.options.token);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private scheduleFor(token: string): void {
    const times = tokenTimes(token);
    if (!times) {
      this.options.logger.warn({}, 'RELAY_TOKEN carries no iat/exp the worker can read; it will not be renewed');
      return;
    }
    const renewAt = times.issuedAtMs + (times.expiresAtMs - times.issuedAtMs) * RENEW_AT_FRACTION;
    this.schedule(renewAt - this.now(), times.expiresAtMs, RETRY_MIN_MS);
  }

  private schedule(delayMs: number, expiresAtMs: number, backoffMs: number): void {
    if (this.closed) return;
    // Unref'd: a pending renewal never keeps a finished worker alive.
    this.timer = setTimeout(() => void this.attempt(expiresAtMs, backoffMs), Math.max(0, delayMs));
    this.timer.unref();
  }

  private async attempt(expiresAtMs: number, backoffMs: number): Promise<void> {
    const outcome = await this.options.renew();
    if (this.closed) return;
    const log = this.options.logger;
    switch (outcome.kind) {
      case 'renewed':
        this.options.onRenewed(outcome.token);
        log.info({ expiresAt: outcome.expiresAt }, 'sandbox token renewed');
        this.scheduleFor(outcome.token);
        return;
      case 'refused':
        log.warn(
          { status: outcome.status, reason: outcome.reason },
          'the relay refused to renew the sandbox token; it is kept until it expires',
        );
        return;
      case 'retry': {
        const left = expiresAtMs - this.now();
        if (left <= 0) {
          log.error({ reason: outcome.reason }, 'the sandbox token expired before it could be renewed');
          return;
        }
        const wait = Math.min(backoffMs, RETRY_CAP_MS, Math.max(RETRY_MIN_MS, left / 4));
        log.warn({ reason: outcome.reason, retryInMs: wait }, 'renewing the sandbox token failed; retrying');
        this.schedule(wait, expiresAtMs, backoffMs * 2);
      }
    }
  }
}
