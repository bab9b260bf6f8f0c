import { testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventPublisher, EventSubscriber, type ReceivedEvent } from './event-bus';
import { closeRedis, createRedisClient, type Redis } from './redis';
import { toolUseEnvelope } from './spec-support';

const logger = testLogger();
const { redisUrl } = testInfra();

/**
 * Regression: a publish that failed while the publisher's connection was down used to be dropped. A
 * subscriber whose own connection came back first (and so had already backfilled from the store)
 * never saw those events: a gap in a live stream that was never closed.
 */
describe('EventPublisher while its connection is down', () => {
  let subscriberRedis: Redis;
  const received: ReceivedEvent[] = [];
  const publishers: Redis[] = [];

  beforeAll(async () => {
    subscriberRedis = createRedisClient(redisUrl, { name: 'test', role: 'subscriber', logger });
    const subscriber = new EventSubscriber(subscriberRedis, logger);
    subscriber.onEvent((event) => received.push(event));
    await subscriber.start();
  });
  afterAll(async () => {
    await Promise.all([subscriberRedis, ...publishers].map(closeRedis));
  });

  async function downPublisher(maxBacklog?: number): Promise<{ redis: Redis; publisher: EventPublisher }> {
    const redis = createRedisClient(redisUrl, { name: 'test', role: 'publisher', logger });
    publishers.push(redis);
    const publisher = new EventPublisher(redis, logger, { maxBacklog });
    await waitFor(() => redis.status === 'ready', 'the publisher to connect');
    redis.disconnect();
    await waitFor(() => redis.status === 'end', 'the publisher to be cut');
    return { redis, publisher };
  }

  const idsOf = (entityId: string) => received.filter((r) => r.event.entity_id === entityId).map((r) => r.event.id);

  it('holds what failed and publishes it, in order and before anything newer, once the connection is back', async () => {
    const sandbox = uniqueId('sb-backlog');
    const { redis, publisher } = await downPublisher();
    expect(await publisher.publish([toolUseEnvelope(sandbox, '1')])).toBe(false);
    expect(await publisher.publish([toolUseEnvelope(sandbox, '2'), toolUseEnvelope(sandbox, '3')])).toBe(false);
    expect(publisher.backlogSize).toBe(3);
    expect(publisher.failedPublishes).toBeGreaterThanOrEqual(1);

    await redis.connect();
    void publisher.publish([toolUseEnvelope(sandbox, '4')]);
    await waitFor(() => idsOf(sandbox).length >= 4, 'the held events and the new one');
    expect(idsOf(sandbox)).toEqual(['1', '2', '3', '4']);
    // The subscriber may see the last publish before the publisher has read Redis's answer to it.
    await waitFor(() => publisher.backlogSize === 0, 'the backlog to empty');
  });

  it('bounds the backlog, dropping the oldest', async () => {
    const sandbox = uniqueId('sb-backlog-full');
    const { redis, publisher } = await downPublisher(2);
    for (const id of ['1', '2', '3']) await publisher.publish([toolUseEnvelope(sandbox, id)]);
    expect(publisher.backlogSize).toBe(2);
    expect(publisher.dropped).toBe(1);
    await redis.connect();
    await waitFor(() => idsOf(sandbox).length >= 2, 'the two held events');
    expect(idsOf(sandbox)).toEqual(['2', '3']);
  });
});
