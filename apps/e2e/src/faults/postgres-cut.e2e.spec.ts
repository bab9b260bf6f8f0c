import { WS_CLOSE_CODES } from '@sandbox-relay/contracts';
import { TcpProxy, testInfra, uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { NO_RATE_LIMITS, storedEventSeqs } from '../support/load';
import { PrivateRedis } from '../support/private-redis';
import { killSpawned, spawnApp, type RelayProcess } from '../support/process';

jest.setTimeout(120_000);

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });

/**
 * Postgres "stops" for the services: a proxy between them and the shared server drops every open
 * connection and refuses new ones, then lets them through again.
 */
describe('fault: Postgres unreachable, then back', () => {
  let redis: PrivateRedis;
  let proxy: TcpProxy;
  let ingest: RelayProcess;
  let messages: RelayProcess;
  let gateway: RelayProcess;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const target = new URL(testInfra().databaseUrl);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    target.port = String(proxy.port);
    const env = { REDIS_URL: redis.url, DATABASE_URL: target.toString(), ...NO_RATE_LIMITS };
    [ingest, messages, gateway] = await Promise.all([
      spawnApp('ingest', env),
      spawnApp('message-queue', env),
      spawnApp('gateway', env),
    ]);
  });
  afterAll(async () => {
    await killSpawned();
    await proxy.close();
    await redis.stop();
  });

  it('ingest and message-queue answer 503 and the gateway refuses to replay, readiness red, while it is down; all serve again when it returns', async () => {
    const sandbox = uniqueId('sb-pg-cut');
    const events = `${ingest.http}/api/v1/sandboxes/${sandbox}/events`;
    const queue = `${messages.http}/api/v1/sandboxes/${sandbox}/messages`;
    await waitFor(async () => (await fetch(`${ingest.http}/readyz`)).status === 200, 'ingest to be ready', 20_000);
    await waitFor(
      async () => (await fetch(`${messages.http}/readyz`)).status === 200,
      'message-queue to be ready',
      20_000,
    );
    await waitFor(async () => (await fetch(`${gateway.http}/readyz`)).status === 200, 'gateway to be ready', 20_000);
    const wsUrl = `${gateway.http.replace(/^http/, 'ws')}/api/v1/events/ws/events?entity_ids=${sandbox}&event_types=agent.started,agent.completed&since=0`;
    const first = await post(events, { event_type: 'agent.started', event_data: { seq: 0 } });
    expect(first.status).toBe(200);
    expect((await post(queue, { content: 'before the cut', message_type: 'user_message' })).status).toBe(200);

    // The services really reach Postgres through the proxy.
    expect(proxy.openConnections).toBeGreaterThanOrEqual(3);
    proxy.cut();
    await waitFor(
      async () => (await fetch(`${ingest.http}/readyz`)).status === 503,
      'ingest readiness to turn red',
      20_000,
      100,
    );
    await waitFor(
      async () => (await fetch(`${messages.http}/readyz`)).status === 503,
      'message-queue readiness to turn red',
      20_000,
      100,
    );
    await waitFor(
      async () => (await fetch(`${gateway.http}/readyz`)).status === 503,
      'gateway readiness to turn red',
      20_000,
      100,
    );
    // A client resuming from the store while it is down is told to come back with the same cursor.
    const refused = await WsProbe.connect(wsUrl);
    expect((await refused.closed(20_000)).code).toBe(WS_CLOSE_CODES.REPLAY_FAILED);
    const ready = (await (await fetch(`${ingest.http}/readyz`)).json()) as { checks: { postgres: { ok: boolean } } };
    expect(ready.checks.postgres.ok).toBe(false);

    // While it is down nothing is acknowledged: every write and read answers 503 with a JSON error.
    const during = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) =>
        post(events, { event_type: 'agent.tool_use', event_data: { seq: 100 + i } }),
      ),
      post(`${events}/batch`, [{ event_type: 'agent.tool_use', event_data: { seq: 200 } }]),
      fetch(events),
      post(queue, { content: 'during the cut', message_type: 'user_message' }),
      fetch(queue),
    ]);
    const answers = await Promise.all(
      during.map(async (res) => ({
        status: res.status,
        code: ((await res.json()) as { error?: { code: string } }).error?.code,
      })),
    );
    expect(answers).toEqual(answers.map(() => ({ status: 503, code: 'service_unavailable' })));
    // The processes stay alive and say so.
    expect((await fetch(`${ingest.http}/healthz`)).status).toBe(200);
    expect((await fetch(`${messages.http}/healthz`)).status).toBe(200);
    expect(ingest.child.exitCode).toBeNull();
    expect(messages.child.exitCode).toBeNull();
    expect(gateway.child.exitCode).toBeNull();

    proxy.restore();
    await waitFor(
      async () => (await fetch(`${ingest.http}/readyz`)).status === 200,
      'ingest readiness to turn green again',
      20_000,
      100,
    );
    await waitFor(
      async () => (await fetch(`${messages.http}/readyz`)).status === 200,
      'message-queue readiness to turn green again',
      20_000,
      100,
    );
    await waitFor(
      async () => (await fetch(`${gateway.http}/readyz`)).status === 200,
      'gateway readiness to turn green again',
      20_000,
      100,
    );
    const after = await post(events, { event_type: 'agent.completed', event_data: { seq: 1 } });
    expect(after.status).toBe(200);
    expect((await post(queue, { content: 'after the cut', message_type: 'user_message' })).status).toBe(200);

    // Exactly the acknowledged events are stored; the refused ones are not.
    expect([...(await storedEventSeqs(sandbox)).values()]).toEqual([0, 1]);
    // The same resume now replays them.
    const resumed = await WsProbe.connect(wsUrl);
    const replayed = await resumed.events(2, 20_000);
    expect(replayed.map((frame) => frame.payload?.seq)).toEqual([0, 1]);
    await resumed.close();
    const drained = (await (await fetch(queue)).json()) as Array<{ content: string }>;
    expect(drained.map((message) => message.content)).toEqual(['before the cut', 'after the cut']);
  });
});
