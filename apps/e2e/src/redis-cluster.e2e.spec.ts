import { JobProducer, closeRedis, createRedisClient, jobIdFor, type Redis } from '@sandbox-relay/bus';
import { QUEUE_NAMES, eventShard, eventShardChannel, type SandboxMessage } from '@sandbox-relay/contracts';
import { LocalRedisCluster, testLogger, uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { killSpawned, spawnApp, type RelayProcess } from './support/process';
import { postEvent } from './support/relay';

const wsPath = '/api/v1/events/ws/events';
const EVENT_LIMIT = 8;
const MESSAGE_LIMIT = 3;

async function postMessage(http: string, sandbox: string, content: string): Promise<number> {
  const res = await fetch(`${http}/api/v1/sandboxes/${sandbox}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content, message_type: 'user_message' }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function drain(http: string, sandbox: string): Promise<SandboxMessage[]> {
  const res = await fetch(`${http}/api/v1/sandboxes/${sandbox}/messages`);
  expect(res.status).toBe(200);
  return (await res.json()) as SandboxMessage[];
}

// The relay as deployed (ingest, gateway and message-queue each their own process, their real main.ts)
// on a three-node Redis Cluster of the suite's own: REDIS_URL with ?cluster=true is all that changes.
describe('the relay on a Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  let ingest: RelayProcess;
  let gateway: RelayProcess;
  let messages: RelayProcess;
  let producerRedis: Redis | undefined;
  const probes: WsProbe[] = [];

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start(3);
    const env = {
      REDIS_URL: cluster.url,
      RATE_LIMIT_EVENTS_PER_WINDOW: String(EVENT_LIMIT),
      RATE_LIMIT_MESSAGES_PER_WINDOW: String(MESSAGE_LIMIT),
      RATE_LIMIT_WINDOW_S: '60',
    };
    [ingest, gateway, messages] = await Promise.all([
      spawnApp('ingest', env, 60_000),
      spawnApp('gateway', env, 60_000),
      spawnApp('message-queue', env, 60_000),
    ]);
    await Promise.all(
      [ingest, gateway, messages].map((service) =>
        waitFor(async () => (await fetch(`${service.http}/readyz`)).status === 200, 'readiness', 20_000, 100),
      ),
    );
  }, 180_000);
  afterAll(async () => {
    await Promise.all(probes.map((probe) => probe.close()));
    if (producerRedis) await closeRedis(producerRedis);
    await killSpawned();
    await cluster?.stop();
  });

  it('streams events POSTed to ingest to WebSocket clients of the gateway, for sandboxes on every node', async () => {
    const run = uniqueId('rc');
    const sandboxes = Array.from({ length: 12 }, (_, index) => `${run}-${index}`);
    const nodes = await Promise.all(
      sandboxes.map((sandbox) => cluster.portServing(eventShardChannel(eventShard('sandbox', sandbox, 16)))),
    );
    expect(new Set(nodes)).toEqual(new Set(cluster.ports));
    const probe = await WsProbe.connect(
      `${gateway.http.replace(/^http/, 'ws')}${wsPath}?entity_ids=${sandboxes.join(',')}`,
    );
    probes.push(probe);
    const acknowledged: string[] = [];
    for (const sandbox of sandboxes) {
      for (let seq = 0; seq < 2; seq += 1) {
        const answer = await postEvent(ingest.http, sandbox, { event_type: 'agent.tool_use', event_data: { seq } });
        expect(answer.status).toBe(200);
        acknowledged.push(answer.body.id as string);
      }
    }
    const frames = await probe.events(acknowledged.length, 15_000);
    expect(frames.map((frame) => frame.id).sort()).toEqual([...acknowledged].sort());
    for (const sandbox of sandboxes)
      expect(frames.filter((frame) => frame.entity_id === sandbox).map((frame) => frame.payload!.seq)).toEqual([0, 1]);
  });

  it('queues a message through BullMQ on the cluster and drains it from message-queue', async () => {
    const sandbox = uniqueId('rc-msg');
    producerRedis = createRedisClient(cluster.url, { name: 'e2e', role: 'worker', logger: testLogger() });
    const producer = new JobProducer({ connection: producerRedis, prefix: 'relay', logger: testLogger() });
    try {
      const key = uniqueId('k');
      await producer.enqueue(
        QUEUE_NAMES.SANDBOX_MESSAGES,
        {
          version: '1',
          sandbox_id: sandbox,
          content: 'from the queue',
          message_type: 'user_message',
          idempotency_key: key,
          sender: 'guardian',
        },
        jobIdFor(key),
      );
      expect(await postMessage(messages.http, sandbox, 'over HTTP')).toBe(200);
      const seen: SandboxMessage[] = [];
      await waitFor(
        async () => {
          seen.push(...(await drain(messages.http, sandbox)));
          return seen.length >= 2;
        },
        'both messages drained',
        15_000,
        100,
      );
      expect(seen.map((message) => message.content).sort()).toEqual(['from the queue', 'over HTTP']);
      expect(await drain(messages.http, sandbox)).toEqual([]);
    } finally {
      await producer.close();
    }
  });

  it('applies the per-sandbox rate limits kept on the cluster', async () => {
    const sandbox = uniqueId('rc-limit');
    const events: number[] = [];
    for (let index = 0; index <= EVENT_LIMIT; index += 1)
      events.push((await postEvent(ingest.http, sandbox, { event_type: 'heartbeat' })).status);
    expect(events).toEqual([...Array<number>(EVENT_LIMIT).fill(200), 429]);
    const sent: number[] = [];
    for (let index = 0; index <= MESSAGE_LIMIT; index += 1)
      sent.push(await postMessage(messages.http, sandbox, `m${index}`));
    expect(sent).toEqual([...Array<number>(MESSAGE_LIMIT).fill(200), 429]);
    // Counted in the cluster (not by the in-memory stand-in a replica uses while Redis is unreachable).
    const command = createRedisClient(cluster.url, { name: 'e2e', role: 'command', logger: testLogger() });
    try {
      await waitFor(() => command.status === 'ready', 'the cluster client');
      expect(Number(await command.get(`relay:ratelimit:events:${sandbox}`))).toBe(EVENT_LIMIT + 1);
      expect(Number(await command.get(`relay:ratelimit:messages:${sandbox}`))).toBe(MESSAGE_LIMIT + 1);
    } finally {
      await closeRedis(command);
    }
  });

  it('a WebSocket client misses nothing and gets nothing twice while the node of its sandbox restarts', async () => {
    const sandbox = uniqueId('rc-restart');
    const port = await cluster.portServing(eventShardChannel(eventShard('sandbox', sandbox, 16)));
    const probe = await WsProbe.connect(`${gateway.http.replace(/^http/, 'ws')}${wsPath}?entity_ids=${sandbox}`);
    probes.push(probe);
    const acknowledged: string[] = [];
    const post = async (seq: number) => {
      const answer = await postEvent(ingest.http, sandbox, { event_type: 'agent.message', event_data: { seq } });
      expect(answer.status).toBe(200);
      acknowledged.push(answer.body.id as string);
    };
    await post(0);
    await probe.events(1);
    await cluster.stopNode(port);
    // Stored while the shard's node is down: the publish fails and is held; the gateway sees its stream cut.
    for (let seq = 1; seq <= 3; seq += 1) await post(seq);
    await cluster.startNode(port);
    await cluster.waitHealthy();
    for (let seq = 4; seq <= 5; seq += 1) await post(seq);
    const frames = await probe.events(acknowledged.length, 20_000);
    expect(frames.map((frame) => frame.id)).toEqual(acknowledged);
    expect(frames.map((frame) => frame.payload!.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    // Nothing arrives twice (the held publishes and the gateway's read of the gap overlap).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(probe.frames.map((frame) => frame.id)).toEqual(acknowledged);
  });

  it('is not ready while the cluster is down, and ready again once it is back', async () => {
    await Promise.all(cluster.ports.map((port) => cluster.stopNode(port)));
    await Promise.all(
      [ingest, gateway, messages].map((service) =>
        waitFor(async () => (await fetch(`${service.http}/readyz`)).status === 503, 'readiness red', 15_000, 100),
      ),
    );
    await Promise.all(cluster.ports.map((port) => cluster.startNode(port)));
    await cluster.waitHealthy();
    await Promise.all(
      [ingest, gateway, messages].map((service) =>
        waitFor(async () => (await fetch(`${service.http}/readyz`)).status === 200, 'readiness green', 30_000, 100),
      ),
    );
  });
});
