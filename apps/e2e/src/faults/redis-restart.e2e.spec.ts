import type { SandboxMessage } from '@sandbox-relay/contracts';
import { uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventLoad, NO_RATE_LIMITS, storedEventIds } from '../support/load';
import { PrivateRedis } from '../support/private-redis';
import { killSpawned, spawnApp, type RelayProcess } from '../support/process';
import { ResumingClient } from '../support/resuming-client';

jest.setTimeout(180_000);

const ready = async (service: RelayProcess) =>
  (await fetch(`${service.http}/readyz`).catch(() => undefined))?.status === 200;

describe('fault: Redis restarted under load', () => {
  let redis: PrivateRedis;
  let services: Record<'ingest' | 'gateway' | 'messageQueue' | 'guardian' | 'branchWorkflow', RelayProcess>;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const env = { REDIS_URL: redis.url, ...NO_RATE_LIMITS };
    // Every service whose state lives in Redis and Postgres only. (The supervisor is left out: it
    // sweeps the sessions of the shared test database, which belong to other suites.)
    const [ingest, gateway, messageQueue, guardian, branchWorkflow] = await Promise.all(
      ['ingest', 'gateway', 'message-queue', 'guardian', 'branch-workflow'].map((app) => spawnApp(app, env, 60_000)),
    );
    services = {
      ingest: ingest!,
      gateway: gateway!,
      messageQueue: messageQueue!,
      guardian: guardian!,
      branchWorkflow: branchWorkflow!,
    };
    for (const [name, service] of Object.entries(services))
      await waitFor(() => ready(service), `${name} to be ready`, 30_000, 100);
  });
  afterAll(async () => {
    await killSpawned();
    await redis.stop();
  });

  it('every service is ready again within seconds and a resuming client sees every event once, in order', async () => {
    const sandbox = uniqueId('sb-redis-restart');
    const client = new ResumingClient(
      services.gateway.http.replace(/^http/, 'ws'),
      `entity_types=sandbox&entity_ids=${sandbox}`,
    );
    client.start();
    await waitFor(() => client.open, 'the client to connect', 10_000);
    const load = new EventLoad(services.ingest.http, sandbox, { single: 2, batch: 1 });
    load.start();
    let recoveryMs: number;
    try {
      await waitFor(() => client.ids.length >= 200, 'the first 200 live events', 60_000);
      await redis.stop();
      // Ingest keeps acknowledging (events are durable in Postgres) while Redis is down; readiness is red.
      const ackedAtStop = load.acked.size;
      await waitFor(() => load.acked.size >= ackedAtStop + 50, 'events acknowledged while Redis is down', 30_000);
      for (const [name, service] of Object.entries(services)) {
        await waitFor(async () => !(await ready(service)), `${name} readiness to turn red`, 15_000, 100);
      }
      const restartedAt = Date.now();
      await redis.start();
      for (const [name, service] of Object.entries(services))
        await waitFor(() => ready(service), `${name} to be ready again`, 30_000, 50);
      recoveryMs = Date.now() - restartedAt;
      const ackedAtRecovery = load.acked.size;
      await waitFor(() => load.acked.size >= ackedAtRecovery + 200, '200 more events after the restart', 60_000);
    } finally {
      await load.stop();
    }

    // Every service answered ready within seconds of Redis coming back.
    process.stdout.write(
      `[fault] Redis restart: every service ready ${recoveryMs} ms after redis-server listened again\n`,
    );
    expect(recoveryMs).toBeLessThan(10_000);

    // The client's stream (across whatever reconnects it needed) is exactly what Postgres holds for
    // the sandbox: no gap, no duplicate, in id order.
    const stored = await storedEventIds(sandbox);
    expect(stored.length).toBeGreaterThanOrEqual(load.acked.size);
    // (A wait that runs out is reported by the comparison below, which names what is missing.)
    await waitFor(
      () => client.ids.length >= stored.length,
      `the client to receive all ${stored.length} stored events`,
      30_000,
    ).catch(() => undefined);
    await client.stop();
    const received = new Set(client.ids);
    process.stdout.write(
      `[fault] Redis restart: ${stored.length} events stored, ${client.ids.length} received over ${client.connects} connection(s)\n`,
    );
    expect({
      missing: stored.filter((id) => !received.has(id)),
      duplicates: client.ids.length - received.size,
      outOfOrder: client.ids.filter((id, i) => i > 0 && BigInt(id) <= BigInt(client.ids[i - 1]!)).length,
      connects: client.connects,
      closeCodes: client.closeCodes,
    }).toEqual({ missing: [], duplicates: 0, outOfOrder: 0, connects: client.connects, closeCodes: client.closeCodes });
    expect(client.ids).toEqual(stored);

    // The message queue serves again too (its POST writes Postgres, its job consumer is back on Redis).
    const queue = `${services.messageQueue.http}/api/v1/sandboxes/${sandbox}/messages`;
    const res = await fetch(queue, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'after the restart', message_type: 'user_message' }),
    });
    expect(res.status).toBe(200);
    const drained = (await (await fetch(queue)).json()) as SandboxMessage[];
    expect(drained.map((message) => message.content)).toEqual(['after the restart']);
  });
});
