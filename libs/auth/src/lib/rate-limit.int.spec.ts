import { closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { CLOSED_PORT, testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import express from 'express';
import request from 'supertest';
import { SandboxRateLimiter } from './rate-limit';

const logger = testLogger();

function appWith(limiter: SandboxRateLimiter) {
  const app = createHttpApp({ logger, readiness: new Readiness(100) });
  const router = express.Router();
  router.post('/s/:sandboxId', limiter.middleware('sandboxId'), (_req, res) => void res.json({ ok: true }));
  app.use(router);
  return finishHttpApp(app);
}

describe('per-sandbox rate limit (real Redis)', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = createRedisClient(testInfra().redisUrl, { name: 'ratelimit-test', role: 'publisher', logger });
    // Until the connection is ready the limiter answers from its in-memory insurance budget.
    await waitFor(() => redis.status === 'ready', 'redis to connect');
  });
  afterAll(() => closeRedis(redis));

  it('answers 429 with retry-after past the budget, per sandbox, and recovers after the window', async () => {
    const limiter = new SandboxRateLimiter({
      redis,
      keyPrefix: uniqueId('rl'),
      points: 3,
      windowS: 1,
      what: 'event requests',
      logger,
    });
    const app = appWith(limiter);
    const [busy, quiet] = [uniqueId('sb'), uniqueId('sb')];
    for (let i = 0; i < 3; i += 1) expect((await request(app).post(`/s/${busy}`)).status).toBe(200);
    const refused = await request(app).post(`/s/${busy}`);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body.error).toMatchObject({ code: 'rate_limited', details: { retry_after_s: 1 } });
    expect(refused.body.error.message).toContain('too many event requests');
    // Another sandbox has its own budget.
    expect((await request(app).post(`/s/${quiet}`)).status).toBe(200);
    // Recovery: once the window has passed the same sandbox is served again.
    await waitFor(
      async () => (await request(app).post(`/s/${busy}`)).status === 200,
      'the budget to refill',
      10_000,
      200,
    );
  });

  it('shares one budget between replicas through Redis', async () => {
    const keyPrefix = uniqueId('rl');
    const replicas = [0, 1].map(() =>
      appWith(new SandboxRateLimiter({ redis, keyPrefix, points: 4, windowS: 60, what: 'x', logger })),
    );
    const sandbox = uniqueId('sb');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await request(replicas[i % 2]!).post(`/s/${sandbox}`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('keeps limiting from memory while Redis is unreachable instead of failing requests', async () => {
    const down = createRedisClient(`redis://127.0.0.1:${CLOSED_PORT}`, {
      name: 'ratelimit-down',
      role: 'publisher',
      logger,
    });
    try {
      const app = appWith(
        new SandboxRateLimiter({ redis: down, keyPrefix: uniqueId('rl'), points: 2, windowS: 60, what: 'x', logger }),
      );
      const sandbox = uniqueId('sb');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await request(app).post(`/s/${sandbox}`)).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await closeRedis(down);
    }
  });

  it('with 0 points is off, and never keys a malformed sandbox id', async () => {
    const off = new SandboxRateLimiter({ redis, keyPrefix: uniqueId('rl'), points: 0, windowS: 1, what: 'x', logger });
    expect(off.enabled).toBe(false);
    const keyPrefix = uniqueId('rl');
    const app = appWith(new SandboxRateLimiter({ redis, keyPrefix, points: 1, windowS: 60, what: 'x', logger }));
    for (let i = 0; i < 3; i += 1) expect((await request(app).post('/s/bad%20id')).status).toBe(200);
    expect(await redis.keys(`${keyPrefix}*`)).toEqual([]);
  });
});
