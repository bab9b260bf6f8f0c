import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { EdgeAuth } from '@sandbox-relay/auth';
import { EVENTS_WS_PATH } from '@sandbox-relay/contracts';
import { EventSubscriber, closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { createStore, type Store } from '@sandbox-relay/store';
import { WsProbe, testInfra, testLogger } from '@sandbox-relay/testing';
import { createGatewayService, type GatewayService } from './gateway.service';

const logger = testLogger();

/** Writes one upgrade request with `target` as its request-target, byte for byte; resolves with the raw answer. */
function rawUpgrade(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no answer to ${target}`))), 10_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
}

// The upgrade path as the gateway's main wires it: the service's `attach` on a plain http.Server.
describe('EventGateway upgrade request-targets', () => {
  let store: Store;
  let subscriberRedis: Redis;
  let service: GatewayService;
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    subscriberRedis = createRedisClient(testInfra().redisUrl, {
      name: 'gateway-upgrade-test',
      role: 'subscriber',
      logger,
    });
    service = createGatewayService({
      store,
      subscriber: new EventSubscriber(subscriberRedis, logger),
      logger,
      auth: EdgeAuth.off(),
      config: {
        pingIntervalMs: 60_000,
        maxBufferedBytes: 1 << 20,
        maxReplayBuffer: 1_000,
        replayPageSize: 100,
        maxClients: 100,
        authTimeoutMs: 5_000,
        omoiosIdlePingMs: 30_000,
        dashboardDir: '/nonexistent',
      },
    });
    server = http.createServer();
    service.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await service.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeRedis(subscriberRedis);
    await store.close();
  });

  // Node's parser passes an absolute-form target through as is; WHATWG URL refuses these hosts.
  it.each([
    'http://[',
    `http://[bad]${EVENTS_WS_PATH}`,
    `http://gateway:99999${EVENTS_WS_PATH}`,
    `http://%${EVENTS_WS_PATH}`,
  ])('answers an unparseable request-target %j with a 400 JSON error, and keeps serving', async (target) => {
    const answer = await rawUpgrade(port, target);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
      error: { code: string; message: string };
    };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(/request target/);

    const probe = await WsProbe.connect(`ws://127.0.0.1:${port}${EVENTS_WS_PATH}?entity_ids=still-serving`);
    await probe.close();
  });

  // One value would win silently (URLSearchParams keeps every one, a plain object only the last): a
  // watcher asking for two sandboxes the way many HTTP clients encode lists would see only one.
  it.each([
    ['entity_ids', 'entity_ids=sbx-a&entity_ids=sbx-b'],
    ['event_types', 'event_types=agent.message&entity_ids=sbx-a&event_types=agent.tool_use'],
    ['since', 'since=5&since=7'],
  ])('refuses %s given more than once with a 400 naming it', async (field, query) => {
    const answer = await rawUpgrade(port, `${EVENTS_WS_PATH}?${query}`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
      error: { code: string; details: Array<{ field: string; message: string }> };
    };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details).toEqual([{ field: `query.${field}`, message: expect.stringContaining('comma') }]);
  });

  it('still routes an absolute-form target naming the events path', async () => {
    const answer = await rawUpgrade(port, `http://127.0.0.1:${port}${EVENTS_WS_PATH}?since=x`);
    // Reached the gateway's own query validation: the path was recognised.
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('query.since');
  });

  // The answer to a refused upgrade is written on a socket the http server no longer watches: a client
  // resetting it meanwhile must not become an uncaught 'error' that ends the process.
  it.each([['/api/v1/no-such-socket'], [`${EVENTS_WS_PATH}?since=x`]])(
    'survives clients that reset the connection as %j is refused',
    async (target) => {
      await Promise.all(
        Array.from(
          { length: 100 },
          () =>
            new Promise<void>((resolve) => {
              const socket = net.connect(port, '127.0.0.1', () => {
                socket.write(
                  `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
                    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
                  () => {
                    socket.resetAndDestroy();
                    resolve();
                  },
                );
              });
              socket.on('error', () => resolve());
            }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const answer = await rawUpgrade(port, '/api/v1/no-such-socket');
      expect(answer).toMatch(/^HTTP\/1\.1 404 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('not_found');
    },
  );
});
