import { eventChannel } from '@sandbox-relay/contracts';
import { CLOSED_PORT, testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventPublisher, EventSubscriber, type ReceivedEvent } from './event-bus';
import { closeRedis, createRedisClient, pingRedis, type Redis } from './redis';
import { toolUseEnvelope } from './spec-support';

const logger = testLogger();
const { redisUrl } = testInfra();

const envelope = (entityId: string, id: string) => toolUseEnvelope(entityId, id, { tool: 'bash' });

describe('Redis connectivity (seed 0.2)', () => {
  let client: Redis;
  beforeAll(() => {
    client = createRedisClient(redisUrl, { name: 'test', role: 'command', logger });
  });
  afterAll(() => closeRedis(client));

  it('answers PING', async () => {
    await waitFor(() => client.status === 'ready', 'redis ready');
    await expect(pingRedis(client)).resolves.toBeUndefined();
    expect(await client.ping()).toBe('PONG');
  });

  it('delivers a pattern-subscribed message (pub/sub round trip)', async () => {
    const subscriber = createRedisClient(redisUrl, { name: 'test', role: 'subscriber', logger });
    const prefix = uniqueId('test.channel');
    const received: Array<[string, string]> = [];
    subscriber.on('pmessage', (_pattern, channel, message) => received.push([channel, message]));
    try {
      await subscriber.psubscribe(`${prefix}.*`);
      await client.publish(`${prefix}.events`, '{"test": true}');
      await waitFor(() => received.length === 1, 'the pmessage');
      expect(received).toEqual([[`${prefix}.events`, '{"test": true}']]);
    } finally {
      await closeRedis(subscriber);
    }
  });
});

describe('EventPublisher → EventSubscriber', () => {
  let publisherRedis: Redis;
  let subscriberRedis: Redis;
  let subscriber: EventSubscriber;
  const received: ReceivedEvent[] = [];

  beforeAll(async () => {
    publisherRedis = createRedisClient(redisUrl, { name: 'test', role: 'publisher', logger });
    subscriberRedis = createRedisClient(redisUrl, { name: 'test', role: 'subscriber', logger });
    subscriber = new EventSubscriber(subscriberRedis, logger);
    subscriber.onEvent((event) => received.push(event));
    await subscriber.start();
    await waitFor(() => publisherRedis.status === 'ready', 'publisher ready');
  });
  afterAll(async () => {
    await subscriber.stop();
    await Promise.all([closeRedis(publisherRedis), closeRedis(subscriberRedis)]);
  });

  it('delivers envelopes in publish order with their exact JSON', async () => {
    const sandbox = uniqueId('sb');
    const events = ['1', '2', '3'].map((id) => envelope(sandbox, id));
    const publisher = new EventPublisher(publisherRedis, logger);
    expect(await publisher.publish(events)).toBe(true);
    const mine = await waitFor(() => {
      const hits = received.filter((r) => r.event.entity_id === sandbox);
      return hits.length === 3 && hits;
    }, 'three events');
    expect(mine.map((r) => r.event.id)).toEqual(['1', '2', '3']);
    expect(JSON.parse(mine[0]!.raw)).toEqual(events[0]);
  });

  it('drops messages that are not envelopes and keeps delivering', async () => {
    const sandbox = uniqueId('sb');
    await publisherRedis.publish(eventChannel('sandbox', sandbox), 'not json');
    await publisherRedis.publish(eventChannel('sandbox', sandbox), JSON.stringify({ id: 'x' }));
    await new EventPublisher(publisherRedis, logger).publish([envelope(sandbox, '9')]);
    const mine = await waitFor(
      () =>
        received.filter((r) => r.event.entity_id === sandbox).length === 1 &&
        received.filter((r) => r.event.entity_id === sandbox),
      'the valid event',
    );
    expect(mine.map((r) => r.event.id)).toEqual(['9']);
  });

  it('reports a failed publish quickly when Redis is unreachable instead of queueing', async () => {
    const dead = createRedisClient(`redis://127.0.0.1:${CLOSED_PORT}`, { name: 'test', role: 'publisher', logger });
    const publisher = new EventPublisher(dead, logger);
    const started = Date.now();
    expect(await publisher.publish([envelope('x', '1')])).toBe(false);
    expect(publisher.failedPublishes).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    dead.disconnect();
  });
});
