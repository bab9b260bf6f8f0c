import { PrivateRedis, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventPublisher, EventSubscriber, type ReceivedEvent } from './event-bus';
import { closeRedis, createRedisClient, type Redis } from './redis';
import { toolUseEnvelope } from './spec-support';

const logger = testLogger();

// The publisher sends each group as one EVALSHA of its script. A restarted Redis has no script cached:
// the publish must still go out (ioredis answers NOSCRIPT by sending the script itself).
describe('EventPublisher across a Redis restart', () => {
  let server: PrivateRedis;
  let publisherRedis: Redis;
  let subscriberRedis: Redis;
  const received: ReceivedEvent[] = [];

  beforeAll(async () => {
    server = await PrivateRedis.start();
    const url = server.url;
    publisherRedis = createRedisClient(url, { name: 'test', role: 'publisher', logger });
    subscriberRedis = createRedisClient(url, { name: 'test', role: 'subscriber', logger });
    const subscriber = new EventSubscriber(subscriberRedis, logger);
    subscriber.onEvent((event) => received.push(event));
    await subscriber.start();
  });
  afterAll(async () => {
    await Promise.all([publisherRedis, subscriberRedis].map(closeRedis));
    await server.stop();
  });

  it('publishes after the restart, with the script cache empty, in order and each once', async () => {
    const sandbox = uniqueId('sb-restart');
    const ids = () => received.filter((r) => r.event.entity_id === sandbox).map((r) => r.event.id);
    const publisher = new EventPublisher(publisherRedis, logger, { omoiosBus: false });
    await waitFor(() => publisherRedis.status === 'ready', 'the publisher to connect');
    expect(await publisher.publish(['1', '2'].map((id) => toolUseEnvelope(sandbox, id)))).toBe(true);
    await waitFor(() => ids().length === 2, 'the first group');

    await server.restart();
    await waitFor(() => publisherRedis.status === 'ready' && subscriberRedis.status === 'ready', 'both to reconnect');
    // Until the subscriber has re-subscribed a publish reaches no one: publish new ids until one arrives.
    let next = 3;
    await waitFor(async () => {
      await publisher.publish([toolUseEnvelope(sandbox, String(next++))]);
      return ids().length > 2;
    }, 'a publish after the restart to arrive');
    const seen = ids().map(Number);
    expect(seen.slice(0, 2)).toEqual([1, 2]);
    for (let index = 1; index < seen.length; index++) expect(seen[index]!).toBeGreaterThan(seen[index - 1]!);
    expect(publisher.backlogSize).toBe(0);
  });
});
