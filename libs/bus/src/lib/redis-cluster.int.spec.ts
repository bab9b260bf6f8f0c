import {
  OMOIOS_CHANNEL_PATTERN,
  QUEUE_NAMES,
  eventShard,
  eventShardChannel,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import { LocalRedisCluster, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventPublisher, EventSubscriber, type EventPublisherOptions, type ReceivedEvent } from './event-bus';
import { JobProducer, createConsumer, jobIdFor, queuePrefix } from './job-queues';
import { closeRedis, createRedisClient, eventShardsOf, isCluster, pingRedis, type Redis } from './redis';

const logger = testLogger();
// A node restart under a loaded machine (two cores shared with other suites) can take tens of seconds to settle.
jest.setTimeout(120_000);

function envelope(entityId: string, id: number): EventEnvelope {
  return {
    id: String(id),
    event_type: 'agent.tool_use',
    entity_type: 'sandbox',
    entity_id: entityId,
    payload: { n: id },
    source: 'agent',
    timestamp: new Date().toISOString(),
  };
}

describe('the bus on a three-node Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  const clients: Redis[] = [];
  const client = (role: 'publisher' | 'subscriber' | 'worker' | 'command'): Redis => {
    const made = createRedisClient(cluster.url, { name: 'cluster-test', role, logger });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start(3);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(closeRedis));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /**
   * A publisher and a subscribed subscriber, and 30 sandboxes spread over the shard channels: those whose
   * channel the first one's node serves (`onNode`, that node's port `port`) and the rest (`elsewhere`).
   */
  async function shardsOverNodes(publisherOptions: EventPublisherOptions = {}) {
    const publisher = new EventPublisher(client('publisher'), logger, publisherOptions);
    const subscriber = new EventSubscriber(client('subscriber'), logger);
    const received: ReceivedEvent[] = [];
    subscriber.onEvent((event) => received.push(event));
    await subscriber.start();
    const run = uniqueId('sb');
    const sandboxes = Array.from({ length: 30 }, (_, index) => `${run}-${index}`);
    const ports = await Promise.all(
      sandboxes.map((sandbox) => cluster.portServing(eventShardChannel(eventShard('sandbox', sandbox, 16)))),
    );
    const port = ports[0]!;
    const onNode = sandboxes.filter((_, index) => ports[index] === port);
    const elsewhere = sandboxes.filter((_, index) => ports[index] !== port);
    expect(elsewhere.length).toBeGreaterThan(0);
    return { publisher, subscriber, received, sandboxes, port, onNode, elsewhere };
  }

  it('connects in cluster mode from the URL and is ready when cluster_state is ok', async () => {
    const command = client('command');
    expect(isCluster(command)).toBe(true);
    expect(eventShardsOf(command)).toBe(16);
    await waitFor(() => command.status === 'ready', 'the cluster client ready');
    await expect(pingRedis(command)).resolves.toBeUndefined();
  });

  it('delivers every event of many sandboxes over shard channels spread on all three nodes, each sandbox in order', async () => {
    const publisher = new EventPublisher(client('publisher'), logger);
    const subscriberRedis = client('subscriber');
    const subscriber = new EventSubscriber(subscriberRedis, logger);
    const received: ReceivedEvent[] = [];
    subscriber.onEvent((event) => received.push(event));
    // The original's bus stays classic pub/sub, which a cluster broadcasts to every node.
    const omoios: string[] = [];
    subscriberRedis.on('pmessage', (pattern: string, channel: string) => {
      if (pattern === OMOIOS_CHANNEL_PATTERN) omoios.push(channel);
    });
    await subscriber.start();
    await subscriberRedis.psubscribe(OMOIOS_CHANNEL_PATTERN);

    const run = uniqueId('sb');
    const sandboxes = Array.from({ length: 40 }, (_, index) => `${run}-${index}`);
    let id = 0;
    const events = sandboxes.flatMap((sandbox) => [1, 2, 3].map(() => envelope(sandbox, (id += 1))));
    // Interleaved batches, as several requests would publish them.
    for (let from = 0; from < events.length; from += 7) {
      expect(await publisher.publish(events.slice(from, from + 7))).toBe(true);
    }
    await waitFor(() => received.length >= events.length, `${events.length} events`, 10_000);
    expect(received.map((event) => event.event.id).sort()).toEqual(events.map((event) => event.id).sort());
    for (const sandbox of sandboxes) {
      const ids = received.filter((event) => event.event.entity_id === sandbox).map((event) => Number(event.event.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids).toHaveLength(3);
    }
    const channels = new Set(sandboxes.map((sandbox) => eventShardChannel(eventShard('sandbox', sandbox, 16))));
    const ports = new Set(await Promise.all([...channels].map((channel) => cluster.portServing(channel))));
    expect(ports).toEqual(new Set(cluster.ports));
    await waitFor(() => omoios.length >= events.length, 'the OmoiOS bus copies');
    expect(omoios.every((channel) => channel === 'events.AGENT_TOOL_USE' || channel.startsWith('events.'))).toBe(true);
    await subscriber.stop();
  });

  it('runs BullMQ queues with the prefix as a hash tag (every key of a queue in one slot)', async () => {
    const worker = client('worker');
    const prefix = uniqueId('relay');
    expect(queuePrefix(worker, prefix)).toBe(`{${prefix}}`);
    expect(queuePrefix(worker, `{${prefix}}`)).toBe(`{${prefix}}`);
    const producer = new JobProducer({ connection: worker, prefix, logger });
    const done: string[] = [];
    const consumer = createConsumer(
      QUEUE_NAMES.SANDBOX_MESSAGES,
      async (payload) => {
        done.push(payload.content);
      },
      { connection: worker, prefix, logger, concurrency: 2 },
    );
    try {
      const sandbox = uniqueId('sb');
      for (let index = 0; index < 20; index += 1) {
        await producer.enqueue(
          QUEUE_NAMES.SANDBOX_MESSAGES,
          {
            version: '1',
            sandbox_id: sandbox,
            content: `m${index}`,
            message_type: 'user_message',
            idempotency_key: `${sandbox}-${index}`,
            sender: 'guardian',
          },
          jobIdFor(`${sandbox}-${index}`),
        );
      }
      await waitFor(() => done.length === 20, '20 jobs done', 15_000);
      expect(done.sort()).toEqual(Array.from({ length: 20 }, (_, index) => `m${index}`).sort());
    } finally {
      await consumer.close();
      await producer.close();
    }
  });

  it('signals a gap when the node of a shard restarts, and delivers on that shard once restored', async () => {
    const publisher = new EventPublisher(client('publisher'), logger);
    const subscriber = new EventSubscriber(client('subscriber'), logger);
    const received: ReceivedEvent[] = [];
    subscriber.onEvent((event) => received.push(event));
    const gaps: string[] = [];
    subscriber.onStreamGap({ interrupted: () => gaps.push('interrupted'), restored: () => gaps.push('restored') });
    await subscriber.start();

    const sandbox = uniqueId('sb');
    const port = await cluster.portServing(eventShardChannel(eventShard('sandbox', sandbox, 16)));
    expect(await publisher.publish([envelope(sandbox, 1)])).toBe(true);
    await waitFor(() => received.length === 1, 'the first event');

    await cluster.restartNode(port, 300);
    await waitFor(() => gaps.length === 2, 'interrupted, then restored', 20_000);
    expect(gaps).toEqual(['interrupted', 'restored']);
    await publisher.publish([envelope(sandbox, 2)]);
    await waitFor(() => received.length === 2, 'the event after the restart', 10_000);
    expect(received.map((event) => event.event.id)).toEqual(['1', '2']);
    await subscriber.stop();
  });

  it('keeps publishing the shards of live nodes while one node is down, and the held ones in order once it is back', async () => {
    const {
      publisher,
      subscriber,
      received,
      sandboxes,
      port: down,
      onNode: onDown,
      elsewhere,
    } = await shardsOverNodes();
    await cluster.stopNode(down);
    try {
      let id = 0;
      for (const round of [1, 2]) {
        const batch = sandboxes.map((sandbox) => envelope(sandbox, (id += 1)));
        expect(await publisher.publish(batch)).toBe(false);
        // The live nodes' shards are delivered while the node is down, round after round.
        await waitFor(
          () =>
            received.filter((event) => elsewhere.includes(event.event.entity_id)).length === elsewhere.length * round,
          `round ${round} on the live nodes`,
          5_000,
        );
      }
      expect(received.some((event) => onDown.includes(event.event.entity_id))).toBe(false);
      expect(publisher.backlogSize).toBe(onDown.length * 2);
    } finally {
      await cluster.startNode(down);
    }
    await cluster.waitHealthy();
    await waitFor(() => received.length === sandboxes.length * 2, 'the held events', 20_000);
    expect(publisher.backlogSize).toBe(0);
    for (const sandbox of sandboxes) {
      const ids = received.filter((event) => event.event.entity_id === sandbox).map((event) => Number(event.event.id));
      expect(ids).toHaveLength(2);
      expect(ids[0]).toBeLessThan(ids[1]!);
    }
    expect(new Set(received.map((event) => event.event.id)).size).toBe(received.length);
    await subscriber.stop();
  });

  it('settles a publish while a master stops answering (its connections open): the live shards go out, the stalled one is held, then sent in order', async () => {
    // Shard channels only: the original's bus copy goes to whichever node ioredis picks for a keyless pipeline.
    const {
      publisher,
      subscriber,
      received,
      sandboxes,
      port: stalled,
      onNode: onStalled,
      elsewhere,
    } = await shardsOverNodes({ omoiosBus: false });
    // A first round on every node: each node's connection is open when the stalled one stops answering.
    let id = 0;
    expect(await publisher.publish(sandboxes.map((sandbox) => envelope(sandbox, (id += 1))))).toBe(true);
    await waitFor(() => received.length === sandboxes.length, 'the first round');
    const second = (sandbox: string) =>
      received.filter((event) => event.event.entity_id === sandbox && Number(event.event.id) > sandboxes.length);

    cluster.pauseNode(stalled);
    try {
      const batch = sandboxes.map((sandbox) => envelope(sandbox, (id += 1)));
      // Without a bound the commands to the stalled node wait for an answer that never comes.
      const outcome = await Promise.race([
        publisher.publish(batch),
        new Promise((resolve) => setTimeout(() => resolve('unsettled after 15 s'), 15_000)),
      ]);
      expect(outcome).toBe(false);
      await waitFor(() => elsewhere.every((sandbox) => second(sandbox).length === 1), 'the live shards', 5_000);
      expect(onStalled.every((sandbox) => second(sandbox).length === 0)).toBe(true);
      expect(publisher.backlogSize).toBe(onStalled.length);
    } finally {
      cluster.resumeNode(stalled);
    }
    // What the stalled node was sent before it stopped may arrive too: at least once, first copies in order.
    await waitFor(
      () => publisher.backlogSize === 0 && onStalled.every((sandbox) => second(sandbox).length >= 1),
      'the held events',
      20_000,
    );
    for (const sandbox of sandboxes) {
      const ids = received.filter((event) => event.event.entity_id === sandbox).map((event) => Number(event.event.id));
      const first = ids.filter((value, index) => ids.indexOf(value) === index);
      expect(first).toHaveLength(2);
      expect(first[0]).toBeLessThan(first[1]!);
    }
    await subscriber.stop();
  });

  it('is not ready while the cluster is unreachable, and ready again once it is back', async () => {
    const command = client('command');
    await waitFor(() => command.status === 'ready', 'ready');
    await Promise.all(cluster.ports.map((port) => cluster.stopNode(port)));
    await waitFor(
      () =>
        pingRedis(command).then(
          () => false,
          () => true,
        ),
      'readiness to fail',
      15_000,
    );
    await expect(pingRedis(command)).rejects.toThrow();
    // And ready again once the cluster is back.
    await Promise.all(cluster.ports.map((port) => cluster.startNode(port)));
    await cluster.waitHealthy();
    await waitFor(
      () =>
        pingRedis(command).then(
          () => true,
          () => false,
        ),
      'readiness to recover',
      20_000,
      100,
    );
  });
});
