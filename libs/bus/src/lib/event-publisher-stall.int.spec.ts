import { PrivateRedis, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventPublisher, EventSubscriber, type ReceivedEvent } from './event-bus';
import { REDIS_COMMAND_TIMEOUT_MS, closeRedis, createRedisClient, type Redis } from './redis';
import { toolUseEnvelope } from './spec-support';

const logger = testLogger();
jest.setTimeout(60_000);

/**
 * A Redis that stops answering with its connections left open (a partition, a stalled VM): nothing
 * closes, so nothing but a bound on each command ends the wait. On a Redis of the suite's own, paused
 * with SIGSTOP.
 */
describe('EventPublisher while its Redis stops answering', () => {
  let redis: PrivateRedis;
  const clients: Redis[] = [];

  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    redis?.resume();
    await Promise.all(clients.map(closeRedis));
    await redis?.stop();
  });

  it('settles within the command timeout, holds the events, and sends them in order once Redis answers, with no publish after them', async () => {
    const publisherRedis = createRedisClient(redis.url, { name: 'stall-test', role: 'publisher', logger });
    const subscriberRedis = createRedisClient(redis.url, { name: 'stall-test', role: 'subscriber', logger });
    clients.push(publisherRedis, subscriberRedis);
    const publisher = new EventPublisher(publisherRedis, logger);
    const subscriber = new EventSubscriber(subscriberRedis, logger);
    const received: ReceivedEvent[] = [];
    subscriber.onEvent((event) => received.push(event));
    await subscriber.start();
    const sandbox = uniqueId('sb-stall');
    expect(await publisher.publish([toolUseEnvelope(sandbox, '1')])).toBe(true);
    await waitFor(() => received.length === 1, 'the first event');

    redis.pause();
    try {
      const started = Date.now();
      const outcome = await Promise.race([
        publisher.publish([toolUseEnvelope(sandbox, '2'), toolUseEnvelope(sandbox, '3')]),
        new Promise((resolve) => setTimeout(() => resolve('unsettled after 15 s'), 15_000)),
      ]);
      expect(outcome).toBe(false);
      // It was the bound that ended the wait: nothing closed.
      expect(Date.now() - started).toBeGreaterThanOrEqual(REDIS_COMMAND_TIMEOUT_MS - 50);
      expect(publisherRedis.status).toBe('ready');
      expect(publisher.backlogSize).toBe(2);
      expect(publisher.failedPublishes).toBe(1);
    } finally {
      redis.resume();
    }
    // The connection never dropped, so no 'ready' comes: the publisher tries again by itself.
    await waitFor(() => publisher.backlogSize === 0, 'the backlog to empty', 10_000);
    await waitFor(() => received.some((event) => event.event.id === '3'), 'the held events');
    const ids = received.map((event) => event.event.id);
    // The timed-out command ran once Redis woke up, and the retry too: each event once or twice, first copies in order.
    expect(ids.filter((id, index) => ids.indexOf(id) === index)).toEqual(['1', '2', '3']);
    expect(ids.length).toBeLessThanOrEqual(5);
    await subscriber.stop();
  });
});
