import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EdgeAuth } from '@sandbox-relay/auth';
import { ENTITY_TYPES, EVENTS_WS_PATH } from '@sandbox-relay/contracts';
import { EventPublisher, EventSubscriber, closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { EventLog, EventRepository, createStore, type Store } from '@sandbox-relay/store';
import { WsProbe, testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventGateway } from './event-gateway';
import { LiveSequencer } from './live-sequencer';

const logger = testLogger();

// The gateway behind its live sequencer, against the real PostgreSQL (replay, holes) and Redis (live);
// a Redis outage is the events stored meanwhile without being published, and the subscriber's
// restored callback after them.
describe('EventGateway live-stream outage backfill', () => {
  let store: Store;
  let publisherRedis: Redis;
  let subscriberRedis: Redis;
  let subscriber: EventSubscriber;
  let liveLog: EventLog;
  let outageLog: EventLog;
  let gateway: EventGateway;
  let sequencer: LiveSequencer;
  let server: http.Server;
  let base: string;
  const probes: WsProbe[] = [];

  const event = (sandbox: string, n: number) => {
    const data = { n };
    return {
      entityType: ENTITY_TYPES.SANDBOX,
      entityId: sandbox,
      eventType: 'agent.message',
      data,
      dataJson: JSON.stringify(data),
      source: 'gateway-test',
    };
  };
  const connect = async (query: string) => {
    const probe = await WsProbe.connect(`${base}${EVENTS_WS_PATH}?${query}`);
    probes.push(probe);
    return probe;
  };

  beforeAll(async () => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    publisherRedis = createRedisClient(testInfra().redisUrl, { name: 'gateway-test', role: 'publisher', logger });
    subscriberRedis = createRedisClient(testInfra().redisUrl, { name: 'gateway-test', role: 'subscriber', logger });
    subscriber = new EventSubscriber(subscriberRedis, logger);
    const publisher = new EventPublisher(publisherRedis, logger);
    liveLog = new EventLog(new EventRepository(store.pool), {
      onCommitted: (events) => void publisher.publish(events),
    });
    outageLog = new EventLog(new EventRepository(store.pool));
    gateway = new EventGateway({
      history: new EventRepository(store.pool),
      logger,
      pingIntervalMs: 60_000,
      replayPageSize: 100,
      maxClients: 100,
      auth: EdgeAuth.off(),
      authTimeoutMs: 5_000,
      omoiosIdlePingMs: 30_000,
      maxBufferedBytes: 1 << 20,
      maxReplayBuffer: 1_000,
    });
    sequencer = new LiveSequencer({
      history: new EventRepository(store.pool),
      deliver: (received) => gateway.dispatch(received),
      logger,
      // Longer than the test's steps: a hole is filled only when the test says the stream is restored.
      holeWaitMs: 60_000,
      pageSize: 100,
    });
    subscriber.onEvent((received) => sequencer.push(received));
    sequencer.start();
    await subscriber.start();
    await waitFor(() => publisherRedis.status === 'ready', 'redis');
    server = http.createServer();
    server.on('upgrade', (req, socket, head) => void gateway.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await Promise.all(probes.map((probe) => probe.close()));
    sequencer.stop();
    await gateway.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await liveLog.whenIdle();
    await subscriber.stop();
    await Promise.all([closeRedis(publisherRedis), closeRedis(subscriberRedis)]);
    await store.close();
  });

  it('a client that resumed (since) during the outage gets nothing twice and nothing before its since when live is restored', async () => {
    const sandbox = uniqueId('sbx-outage');
    const watcher = await connect(`entity_ids=${sandbox}`);
    const [first] = await liveLog.append([event(sandbox, 1)]);
    await watcher.events(1, 10_000);

    const [second] = await outageLog.append([event(sandbox, 2)]);
    const [third] = await outageLog.append([event(sandbox, 3)]);

    // Resumes after the second event while live delivery is still down: the store answers the third.
    const resumed = await connect(`entity_ids=${sandbox}&since=${second!.id}`);
    expect((await resumed.events(1, 10_000)).map((frame) => frame.id)).toEqual([third!.id]);

    sequencer.restored();
    // The watcher that was connected through the outage gets what it missed...
    expect((await watcher.events(3, 10_000)).map((frame) => frame.id)).toEqual([first!.id, second!.id, third!.id]);
    // ...and one more live event marks the point by which any backfill for the resumed client has been sent.
    const [fourth] = await liveLog.append([event(sandbox, 4)]);
    await resumed.events(2, 10_000);
    await watcher.events(4, 10_000);
    expect(resumed.frames.map((frame) => frame.id)).toEqual([third!.id, fourth!.id]);
  });
});
