import { AppError } from '@sandbox-relay/service-kit';

/** No token, or one that is malformed, tampered with, expired or signed by a key we do not hold: 401. */
export class UnauthorizedError extends AppError {
  constructor(message: string) {
    super(401, 'unauthenticated', message);
    this.name = 'UnauthorizedError';
  }
}

/** A valid token that does not allow this action on this sandbox: 403. */
export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, 'forbidden', message);
    this.name = 'ForbiddenError';
  }
}

/** The sandbox sent more than its share; `retryAfterS` is also the `retry-after` header: 429. */
export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterS: number,
    what: string,
  ) {
    super(429, 'rate_limited', `too many ${what} for this sandbox; retry after ${retryAfterS} s`, {
      retry_after_s: retryAfterS,
    });
    this.name = 'RateLimitedError';
  }
}
