import { CANARY_SANDBOX_ID } from '@sandbox-relay/contracts';
import { createRedisClient, type Redis } from '@sandbox-relay/bus';
import { metricValue, testLogger, waitFor } from '@sandbox-relay/testing';
import WebSocket from 'ws';
import { PrivateRedis } from './support/private-redis';
import { killSpawned, spawnApp, type RelayProcess } from './support/process';

/**
 * The gateway's canary, end to end: the real gateway process (its main.ts) on a Redis of the suite's
 * own. Its canary events go through the event log into PostgreSQL and out through Redis pub/sub; when
 * they stop arriving on its subscription, /readyz turns red even though Redis still answers PING.
 */
interface Readyz {
  status: number;
  body: { status: string; checks: Record<string, { ok: boolean; error?: string }> };
}

async function readyz(gateway: RelayProcess): Promise<Readyz> {
  const res = await fetch(`${gateway.http}/readyz`);
  return { status: res.status, body: (await res.json()) as Readyz['body'] };
}

const CANARY_ENV = { CANARY_INTERVAL_MS: '200', CANARY_MAX_AGE_MS: '1500' };

describe('gateway canary', () => {
  let redis: PrivateRedis;
  let admin: Redis;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    admin = createRedisClient(redis.url, { name: 'canary-test-admin', role: 'worker', logger: testLogger() });
  });
  afterEach(async () => {
    // (Under a PAUSE ALL this waits for the pause to expire.)
    await admin.client('UNPAUSE').catch(() => undefined);
    await killSpawned();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('is ready while its canary events arrive, red while publishes are stalled (Redis still answers PING), and green again after', async () => {
    const gateway = await spawnApp('gateway', { REDIS_URL: redis.url, ...CANARY_ENV });
    await waitFor(async () => (await readyz(gateway)).status === 200, 'the gateway to be ready', 15_000, 100);
    const green = await readyz(gateway);
    expect(green.body.checks['canary']).toMatchObject({ ok: true });

    // Writes (PUBLISH among them) wait on the server; PING and reads still answer.
    await admin.call('CLIENT', 'PAUSE', '30000', 'WRITE');
    const red = await waitFor(
      async () => {
        const report = await readyz(gateway);
        return report.status === 503 && report;
      },
      'readiness to turn red',
      15_000,
      100,
    );
    expect(red.body.checks['canary']?.ok).toBe(false);
    expect(red.body.checks['canary']?.error).toMatch(/canary event arrived \d+ ms ago/);
    expect(red.body.checks['redis']).toMatchObject({ ok: true });
    expect(red.body.checks['postgres']).toMatchObject({ ok: true });

    await admin.client('UNPAUSE');
    await waitFor(async () => (await readyz(gateway)).status === 200, 'readiness to turn green again', 15_000, 100);
    const metrics = await (await fetch(`${gateway.http}/metrics`)).text();
    expect(metricValue(metrics, 'relay_canary_received_total')).toBeGreaterThan(1);
    expect(metricValue(metrics, 'relay_canary_age_seconds')).toBeLessThan(1.5);
  });

  it('turns red when its subscription is cut on the server and green once ioredis has subscribed again', async () => {
    const gateway = await spawnApp('gateway', { REDIS_URL: redis.url, ...CANARY_ENV });
    await waitFor(async () => (await readyz(gateway)).status === 200, 'the gateway to be ready', 15_000, 100);
    const received = async () =>
      metricValue(await (await fetch(`${gateway.http}/metrics`)).text(), 'relay_canary_received_total') ?? 0;
    const before = await received();

    // In one transaction: kill the gateway's subscriber connection, then stall every command for 5 s
    // (CLIENT PAUSE ALL), so ioredis cannot subscribe again until the pause expires by itself.
    await admin
      .multi([
        ['client', 'kill', 'type', 'pubsub'],
        ['client', 'pause', '5000', 'all'],
      ])
      .exec();
    // (The Redis PING check fails at once too; the canary's bound passes 1.5 s later.)
    const red = await waitFor(
      async () => {
        const report = await readyz(gateway);
        return report.status === 503 && report.body.checks['canary']?.ok === false && report;
      },
      'the canary check to fail',
      15_000,
      100,
    );
    expect(red.body.checks['canary']?.error).toMatch(/canary event arrived \d+ ms ago/);

    // The pause ends by itself; ioredis re-subscribes and the canary arrives again.
    await waitFor(async () => (await readyz(gateway)).status === 200, 'readiness to turn green again', 20_000, 100);
    expect(await received()).toBeGreaterThan(before);
  });

  it('keeps canary events away from clients that do not ask for the canary by name', async () => {
    const gateway = await spawnApp('gateway', { REDIS_URL: redis.url, ...CANARY_ENV });
    await waitFor(async () => (await readyz(gateway)).status === 200, 'the gateway to be ready', 15_000, 100);
    const ws = gateway.http.replace('http', 'ws');
    const frames = { all: [] as string[], named: [] as string[] };
    const named = new WebSocket(`${ws}/api/v1/events/ws/events?entity_ids=${CANARY_SANDBOX_ID}`);
    named.on('message', (data) => frames.named.push(String(data)));
    const first = await waitFor(
      () => frames.named.find((frame) => frame.includes('relay.canary')),
      'a canary frame for the client that names it',
      10_000,
      50,
    );
    const firstId = BigInt((JSON.parse(first) as { id: string }).id);
    // Replays from just before that canary event, then stays live while more are sent.
    const all = new WebSocket(`${ws}/api/v1/events/ws/events?entity_types=sandbox&since=${firstId - 1n}`);
    all.on('message', (data) => frames.all.push(String(data)));
    try {
      await waitFor(
        () => frames.named.filter((frame) => frame.includes('relay.canary')).length >= 4,
        'more canary frames',
        10_000,
        50,
      );
      expect(all.readyState).toBe(WebSocket.OPEN);
      expect(frames.all.filter((frame) => frame.includes(CANARY_SANDBOX_ID))).toEqual([]);
    } finally {
      all.close();
      named.close();
    }
  });
});
