import type http from 'node:http';
import { EdgeAuth } from '@sandbox-relay/auth';
import type { EventSubscriber } from '@sandbox-relay/bus';
import type { Logger } from '@sandbox-relay/service-kit';
import { EventRepository, type Store } from '@sandbox-relay/store';
import type { Router } from 'express';
import { dashboardRouter } from './dashboard.routes';
import { EventGateway } from './event-gateway';
import { LiveSequencer } from './live-sequencer';
import { rejectUpgrade } from './ws-upgrade';
import { SandboxListRepository } from './sandbox-list.repository';

export interface GatewayServiceDeps {
  store: Store;
  /** Live events; owned (started, stopped) by the process, which may share it with other services. */
  subscriber: EventSubscriber;
  logger: Logger;
  /** Token checks of the WebSocket. Absent means off: only for tests not about auth; every main passes its env's. */
  auth?: EdgeAuth;
  /** The process's readiness (false while draining): the original protocol's sockets are then refused with 1013. Absent: always ready. */
  isReady?: () => boolean;
  config: {
    pingIntervalMs: number;
    maxBufferedBytes: number;
    maxReplayBuffer: number;
    replayPageSize: number;
    maxClients: number;
    /** How long a new WebSocket has to send its auth frame (auth on). */
    authTimeoutMs: number;
    /** Original protocol: a ping frame after this long without a client message. */
    omoiosIdlePingMs: number;
    /** How long a live event that arrived before a smaller id waits for it before the store is read (default 25 ms). */
    holeWaitMs?: number;
    /** The dashboard's built files, served at `/`. */
    dashboardDir: string;
  };
}

export interface GatewayService {
  gateway: EventGateway;
  /** The dashboard at `/` and its read API (`GET /api/v1/sandboxes`). */
  router: Router;
  /** Routes WebSocket upgrades on `server` to the gateway (other paths are refused). */
  attach(server: http.Server): void;
  close(): Promise<void>;
}

export function createGatewayService({
  store,
  subscriber,
  logger,
  config,
  auth = EdgeAuth.off(),
  isReady,
}: GatewayServiceDeps): GatewayService {
  const log = logger.child({ component: 'gateway' });
  const history = new EventRepository(store.pool);
  const gateway = new EventGateway({ ...config, auth, isReady, history, logger: log });
  // Live events reach the clients in id order, once each, holes filled from the store: see LiveSequencer.
  const sequencer = new LiveSequencer({
    history,
    deliver: (received) => gateway.dispatch(received),
    logger: log,
    holeWaitMs: config.holeWaitMs ?? 25,
    pageSize: config.replayPageSize,
    pace: () => gateway.roomForBurst(),
  });
  subscriber.onEvent((received) => sequencer.push(received));
  subscriber.onStreamGap({ interrupted: () => undefined, restored: () => sequencer.restored() });
  sequencer.start();
  const router = dashboardRouter({
    sandboxes: new SandboxListRepository(store),
    dashboardDir: config.dashboardDir,
    auth,
  });
  return {
    gateway,
    router,
    attach(server) {
      server.on('upgrade', (req, socket, head) => {
        if (!gateway.handleUpgrade(req, socket, head)) {
          rejectUpgrade(socket, 404, 'not_found', 'no WebSocket endpoint at this path');
        }
      });
    },
    close: async () => {
      sequencer.stop();
      await gateway.close();
    },
  };
}
