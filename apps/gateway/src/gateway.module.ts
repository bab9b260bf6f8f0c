import type { Redis } from '@sandbox-relay/bus';
import type { ServiceModule } from '@sandbox-relay/service-kit';
import { createGatewayCanary } from './canary';
import { createGatewayService, type GatewayService, type GatewayServiceDeps } from './gateway.service';

export interface GatewayModuleDeps extends GatewayServiceDeps {
  /** The end-to-end canary (CANARY_ENABLED); absent: none. It writes through its own fail-fast publisher connection, as ingest does. */
  canary?: { publisherRedis: Redis; config: { intervalMs: number; maxAgeMs: number; retentionMs: number } };
}

export interface GatewayModule extends ServiceModule {
  gateway: GatewayService;
}

/**
 * The gateway as a process composes it: the dashboard and its read API, the WebSocket upgrades, and the
 * canary (ready only while its own events come back through the subscription the clients are fed from).
 * The subscriber is the process's: started before the port opens, stopped after the sockets close.
 */
export function createGatewayModule({ canary: canaryDeps, ...deps }: GatewayModuleDeps): GatewayModule {
  const gateway = createGatewayService(deps);
  const canary = canaryDeps
    ? createGatewayCanary({ store: deps.store, subscriber: deps.subscriber, logger: deps.logger, ...canaryDeps })
    : undefined;
  return {
    name: 'gateway',
    gateway,
    router: gateway.router,
    attach: (server) => gateway.attach(server),
    readiness: canary ? [{ name: 'canary', check: () => canary.canary.check() }] : [],
    async start() {
      if (!canary) return;
      canary.canary.start();
      // Ready once the first canary event is back (it is sent now), or at the latest when the next is due.
      await firstArrival(canary.canary.firstArrival, canaryDeps!.config.intervalMs);
    },
    shutdown: {
      // Clients are told 1001 and reconnect (with `since`) to another replica before the port closes.
      beforeHttpClose: [
        { name: 'canary', run: () => canary?.canary.stop() },
        { name: 'websockets', run: () => gateway.close() },
      ],
      afterHttpClose: [{ name: 'canary-log', run: () => canary?.drain() }],
    },
  };
}

async function firstArrival(arrival: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([arrival, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
