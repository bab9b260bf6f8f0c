import type http from 'node:http';
import { EventSubscriber, type Redis } from '@sandbox-relay/bus';
import type { Logger } from '@sandbox-relay/service-kit';
import { EventRepository, type Store } from '@sandbox-relay/store';
import { EventGateway } from './event-gateway';

export interface GatewayServiceDeps {
  store: Store;
  /** A dedicated subscriber connection (patient role). */
  subscriberRedis: Redis;
  logger: Logger;
  config: {
    pingIntervalMs: number;
    maxBufferedBytes: number;
    maxReplayBuffer: number;
    replayPageSize: number;
    maxClients: number;
  };
}

export interface GatewayService {
  gateway: EventGateway;
  subscriber: EventSubscriber;
  /** Subscribes to Redis; resolves when live events flow. */
  start(): Promise<void>;
  /** Routes WebSocket upgrades on `server` to the gateway (other paths are refused). */
  attach(server: http.Server): void;
  close(): Promise<void>;
}

export function createGatewayService({ store, subscriberRedis, logger, config }: GatewayServiceDeps): GatewayService {
  const log = logger.child({ component: 'gateway' });
  const gateway = new EventGateway({ ...config, history: new EventRepository(store.pool), logger: log });
  const subscriber = new EventSubscriber(subscriberRedis, log);
  subscriber.onEvent((received) => gateway.dispatch(received));
  subscriber.onStreamGap({ interrupted: () => gateway.liveInterrupted(), restored: () => gateway.liveRestored() });
  return {
    gateway,
    subscriber,
    start: () => subscriber.start(),
    attach(server) {
      server.on('upgrade', (req, socket, head) => {
        if (!gateway.handleUpgrade(req, socket, head)) {
          socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        }
      });
    },
    async close() {
      await gateway.close();
      await subscriber.stop();
    },
  };
}
