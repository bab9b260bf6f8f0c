import { SANDBOX_ID_PATTERN } from '@sandbox-relay/contracts';
import type { Logger } from '@sandbox-relay/service-kit';
import type { RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from './errors';

/**
 * Where the budget lives: an ioredis connection (the bus's `Redis`), driven by rate-limiter-flexible's
 * Redis store, which reads its `status` to answer from memory while it is not ready. Declared here so
 * auth (infra) does not depend on the bus (infra).
 */
export interface RateLimitRedis {
  readonly status: string;
}

export interface SandboxRateLimitOptions {
  /** Any connection works; a fail-fast one (role `publisher`) keeps a Redis outage from holding up requests. */
  redis: RateLimitRedis;
  /** Distinguishes the limits (`events`, `messages`) and environments sharing one Redis. */
  keyPrefix: string;
  /** Requests per sandbox per window; 0 turns the limit off. */
  points: number;
  windowS: number;
  /** What is limited, in the 429 message ("event requests"). */
  what: string;
  logger: Logger;
}

/**
 * A per-sandbox request budget kept in Redis, so every replica draws on the same one. While Redis is
 * unreachable each replica falls back to an in-memory budget of the same size (rate-limiter-flexible's
 * insurance limiter): requests are neither refused nor left unlimited because of the outage.
 */
export class SandboxRateLimiter {
  private readonly limiter: RateLimiterRedis | undefined;

  constructor(private readonly options: SandboxRateLimitOptions) {
    if (options.points <= 0) return;
    const shape = { keyPrefix: options.keyPrefix, points: options.points, duration: options.windowS };
    this.limiter = new RateLimiterRedis({
      ...shape,
      storeClient: options.redis,
      // Without this a command waits for a reconnect; with it the insurance limiter answers at once.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(shape),
    });
  }

  get enabled(): boolean {
    return this.limiter !== undefined;
  }

  /** Takes one request from `sandboxId`'s budget; throws RateLimitedError (429) when it is spent. */
  async consume(sandboxId: string): Promise<void> {
    if (!this.limiter) return;
    try {
      await this.limiter.consume(sandboxId, 1);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), this.options.what);
      }
      // Both stores failed: let the request through rather than turn a limiter fault into an outage.
      this.options.logger.warn(
        { err: (rejection as Error)?.message, limit: this.options.keyPrefix },
        'rate limiter unavailable; request let through',
      );
    }
  }

  /** Express middleware keyed by the `:sandboxId` route parameter; 429 with `retry-after` past the budget. */
  middleware(param = 'sandboxId'): RequestHandler {
    // Off (0 points): a plain pass-through, no await and no id check on every request (bench/ingest.ts profile).
    if (!this.limiter) return (_req, _res, next) => next();
    return async (req, res, next) => {
      const sandboxId = req.params[param];
      // A malformed id is answered 400 by the route; it must not create keys in Redis.
      if (typeof sandboxId !== 'string' || !SANDBOX_ID_PATTERN.test(sandboxId)) return next();
      try {
        await this.consume(sandboxId);
        next();
      } catch (error) {
        if (error instanceof RateLimitedError) res.setHeader('retry-after', String(error.retryAfterS));
        next(error);
      }
    };
  }
}
