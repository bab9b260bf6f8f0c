import { CANARY_EVENT_TYPE, CANARY_SANDBOX_ID, ENTITY_TYPES, RELAY_EVENT_SOURCES } from '@sandbox-relay/contracts';
import { EventPublisher, EventSubscriber, closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { EventRepository, createEventSink, createStore, type EventSink, type Store } from '@sandbox-relay/store';
import { testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { Canary, type CanaryOptions } from './canary';

const logger = testLogger();

// The canary against the real PostgreSQL and Redis; only its clock is in the test's hands.
describe('Canary', () => {
  let store: Store;
  let publisherRedis: Redis;
  let subscriberRedis: Redis;
  let subscriber: EventSubscriber;
  let sink: EventSink;
  const canaries: Canary[] = [];
  let clock = Date.now();
  const canary = (intervalMs = 60_000, maxAgeMs = 120_000, retention?: CanaryOptions['retention']) => {
    const created = new Canary({ intervalMs, maxAgeMs, sink, retention, subscriber, logger, now: () => clock });
    canaries.push(created);
    return created;
  };

  beforeAll(async () => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    publisherRedis = createRedisClient(testInfra().redisUrl, { name: 'canary-test', role: 'publisher', logger });
    subscriberRedis = createRedisClient(testInfra().redisUrl, { name: 'canary-test', role: 'subscriber', logger });
    subscriber = new EventSubscriber(subscriberRedis, logger);
    await subscriber.start();
    const publisher = new EventPublisher(publisherRedis, logger);
    sink = createEventSink({
      events: new EventRepository(store.pool),
      source: RELAY_EVENT_SOURCES.CANARY,
      publish: (events) => publisher.publish(events),
    });
    await waitFor(() => publisherRedis.status === 'ready', 'redis');
  });
  afterAll(async () => {
    canaries.forEach((c) => c.stop());
    await sink.whenIdle();
    await subscriber.stop();
    await Promise.all([closeRedis(publisherRedis), closeRedis(subscriberRedis)]);
    await store.close();
  });

  it('is red until its first event has come back through the subscription, then green', async () => {
    const c = canary();
    await expect(c.check()).rejects.toThrow(/no canary event has arrived/);
    await c.beat();
    await waitFor(
      () =>
        c.check().then(
          () => true,
          () => false,
        ),
      'the canary event to arrive',
      10_000,
    );
    const stored = await new EventRepository(store.pool).list({ entityIds: [CANARY_SANDBOX_ID], limit: 1000 });
    expect(stored.some((event) => event.payload['nonce'] === c.nonce && event.event_type === 'relay.canary')).toBe(
      true,
    );
  });

  it('turns red once its last event is older than the bound, green with the next', async () => {
    const c = canary(1_000, 5_000);
    await c.beat();
    await waitFor(
      () =>
        c.check().then(
          () => true,
          () => false,
        ),
      'the first arrival',
      10_000,
    );
    clock += 5_001;
    await expect(c.check()).rejects.toThrow(/the last canary event arrived 5001 ms ago \(bound 5000 ms\)/);
    await c.beat();
    await waitFor(
      () =>
        c.check().then(
          () => true,
          () => false,
        ),
      'the next arrival',
      10_000,
    );
  });

  it("does not count another replica's canary events (each matches its own nonce)", async () => {
    const mine = canary();
    const other = canary();
    await other.beat();
    await waitFor(
      () =>
        other.check().then(
          () => true,
          () => false,
        ),
      "the other replica's arrival",
      10_000,
    );
    await expect(mine.check()).rejects.toThrow(/no canary event has arrived/);
  });

  it("deletes the canary entity's rows older than the retention bound with each beat, and no other entity's", async () => {
    const events = new EventRepository(store.pool);
    const c = canary(60_000, 120_000, { maxAgeMs: 3_600_000, events });
    const other = uniqueId('not-the-canary');
    const row = (entityId: string, data: Record<string, unknown>) => ({
      entityType: ENTITY_TYPES.SANDBOX,
      entityId,
      eventType: CANARY_EVENT_TYPE,
      data,
      dataJson: JSON.stringify(data),
      source: 'test',
    });
    const old = await events.appendMany([
      row(CANARY_SANDBOX_ID, { nonce: c.nonce, old: true }),
      row(other, { nonce: c.nonce, old: true }),
    ]);
    // Both rows are two hours old; only the canary's is past the one-hour retention once the canary beats.
    await store.pool.query(
      `UPDATE sandbox_events SET created_at = now() - interval '2 hours' WHERE id = ANY($1::bigint[])`,
      [old.map((event) => event.id)],
    );

    await c.beat();

    const mine = (await events.list({ entityIds: [CANARY_SANDBOX_ID], limit: 10_000, order: 'desc' })).filter(
      (event) => event.payload['nonce'] === c.nonce,
    );
    expect(mine.map((event) => event.payload['old'] ?? false)).toEqual([false]);
    const others = await events.list({ entityIds: [other], limit: 10 });
    expect(others.map((event) => event.id)).toEqual([old[1]!.id]);
  });

  it('refuses a bound not longer than its interval', () => {
    expect(() => canary(10_000, 10_000)).toThrow(/longer than its interval/);
  });
});
