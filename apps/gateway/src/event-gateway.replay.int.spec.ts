import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EdgeAuth } from '@sandbox-relay/auth';
import { ENTITY_TYPES, EVENTS_WS_PATH, WS_CLOSE_CODES } from '@sandbox-relay/contracts';
import { EventLog, EventRepository, createStore, type Store } from '@sandbox-relay/store';
import { WsProbe, testInfra, testLogger, uniqueId } from '@sandbox-relay/testing';
import { EventGateway } from './event-gateway';

const logger = testLogger();
const MAX_BUFFERED_BYTES = 1 << 20;

// Replay against the real PostgreSQL with the default page size and send-buffer bound: a page of
// stored events can hold many times the bound.
describe('EventGateway replay of large events', () => {
  let store: Store;
  let gateway: EventGateway;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    gateway = new EventGateway({
      history: new EventRepository(store.pool),
      logger,
      pingIntervalMs: 60_000,
      replayPageSize: 500,
      maxClients: 100,
      auth: EdgeAuth.off(),
      authTimeoutMs: 5_000,
      omoiosIdlePingMs: 30_000,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      maxReplayBuffer: 10_000,
    });
    server = http.createServer();
    server.on('upgrade', (req, socket, head) => void gateway.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await gateway.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  });

  it('a client that reads as fast as it can gets a replay of several times the send-buffer bound, and stays open', async () => {
    const sandbox = uniqueId('sbx-replay-big');
    const log = new EventLog(new EventRepository(store.pool));
    // 300 events of 20 KB (a diff each): 6 MB in one replay page, six times the bound.
    const stored = await log.append(
      Array.from({ length: 300 }, (_, seq) => {
        const data = { seq, diff: 'x'.repeat(20_000) };
        return {
          entityType: ENTITY_TYPES.SANDBOX,
          entityId: sandbox,
          eventType: 'agent.tool_result',
          data,
          dataJson: JSON.stringify(data),
          source: 'gateway-test',
        };
      }),
    );

    const probe = await WsProbe.connect(`${base}${EVENTS_WS_PATH}?entity_ids=${sandbox}&since=0`);
    try {
      const frames = await probe.events(300, 15_000).catch((error: Error) => {
        throw new Error(`${error.message}; closed with ${probe.closeCode} ${probe.closeReason}`);
      });
      expect(frames.map((frame) => frame.id)).toEqual(stored.map((event) => event.id));
      expect(probe.closeCode).toBeUndefined();
    } finally {
      await probe.close();
    }
  });

  it('closes a client whose since is past the newest stored event (a reset log) with 4416, and keeps a caught-up one open', async () => {
    const sandbox = uniqueId('sbx-since-ahead');
    const log = new EventLog(new EventRepository(store.pool));
    const [stored] = await log.append([
      {
        entityType: ENTITY_TYPES.SANDBOX,
        entityId: sandbox,
        eventType: 'agent.message',
        data: {},
        dataJson: '{}',
        source: 'gateway-test',
      },
    ]);
    const newest = BigInt((await new EventRepository(store.pool).newestId())!);

    const ahead = await WsProbe.connect(`${base}${EVENTS_WS_PATH}?entity_ids=${sandbox}&since=${newest + 1_000_000n}`);
    expect(await ahead.closed(5_000)).toEqual({
      code: WS_CLOSE_CODES.SINCE_AHEAD,
      reason: expect.stringContaining('past the newest stored event'),
    });

    // Caught up (nothing after its cursor, which the log holds): stays open and gets what comes next.
    const caughtUp = await WsProbe.connect(`${base}${EVENTS_WS_PATH}?entity_ids=${sandbox}&since=${stored!.id}`);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(caughtUp.closeCode).toBeUndefined();
    } finally {
      caughtUp.close();
    }
  });
});
