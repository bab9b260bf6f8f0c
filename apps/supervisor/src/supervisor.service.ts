import { EventPublisher, type Redis } from '@sandbox-relay/bus';
import type { SandboxProvider } from '@sandbox-relay/sandbox';
import type { Logger } from '@sandbox-relay/service-kit';
import { EventLog, EventRepository, type Store } from '@sandbox-relay/store';
import type { Router } from 'express';
import { SupervisorState } from './redis-state';
import { SessionStore } from './session-store';
import { Supervisor, type SupervisorConfig } from './supervisor';
import { supervisorRouter } from './supervisor.routes';

export interface SupervisorServiceDeps {
  store: Store;
  /** Fail-fast connection: publishes events and holds the supervisor's state (levels, locks). */
  publisherRedis: Redis;
  provider: SandboxProvider;
  logger: Logger;
  config: SupervisorConfig;
  relayUrl: () => string;
  bodyLimit?: string;
}

export interface SupervisorService {
  router: Router;
  supervisor: Supervisor;
  /** Starts the sweep loop. */
  start(): void;
  running(): boolean;
  /** Stops sweeping, finishes restarts and stops in flight, commits the events they wrote. */
  close(): Promise<void>;
}

export function createSupervisorService({ store, publisherRedis, provider, logger, config, relayUrl, bodyLimit = '1mb' }: SupervisorServiceDeps): SupervisorService {
  const log = logger.child({ component: 'supervisor' });
  const publisher = new EventPublisher(publisherRedis, log);
  const events = new EventRepository(store.pool);
  const eventLog = new EventLog(events, { onCommitted: (committed) => void publisher.publish(committed), logger: log });
  const supervisor = new Supervisor({
    store,
    sessions: new SessionStore(store, config.keyPrefix),
    state: new SupervisorState(publisherRedis, config.keyPrefix),
    events,
    eventLog,
    provider,
    logger,
    config,
    relayUrl,
  });
  return {
    router: supervisorRouter(supervisor, { bodyLimit }),
    supervisor,
    start: () => supervisor.start(),
    running: () => supervisor.running(),
    async close() {
      await supervisor.close();
      await eventLog.whenIdle();
    },
  };
}
