import { ACTIONS, EdgeAuth, requireByMethod } from '@sandbox-relay/auth';
import { EventPublisher, type Redis } from '@sandbox-relay/bus';
import { RELAY_EVENT_SOURCES } from '@sandbox-relay/contracts';
import type { SandboxProvider } from '@sandbox-relay/sandbox';
import type { Logger } from '@sandbox-relay/service-kit';
import { createEventSink, EventRepository, type Store } from '@sandbox-relay/store';
import { Router } from 'express';
import { SupervisorState } from './redis-state';
import { SessionStore } from './session-store';
import { Supervisor, type SupervisorConfig } from './supervisor';
import { supervisorRouter } from './edge/supervisor.routes';

export interface SupervisorServiceDeps {
  store: Store;
  /** Fail-fast connection: publishes events and holds the supervisor's state (levels, locks). */
  publisherRedis: Redis;
  provider: SandboxProvider;
  logger: Logger;
  config: SupervisorConfig;
  relayUrl: () => string;
  bodyLimit?: string;
  /**
   * Token checks of the task edge (operators start and stop, viewers read) and the issuer of each
   * worker's sandbox token. Absent means off: only for tests not about auth; every main passes its env's.
   */
  auth?: EdgeAuth;
  /** Lifetime of a worker's sandbox token; past it the worker is refused, stops beating, and is restarted with a fresh one. */
  sandboxTokenTtlS?: number;
  /** The OMOIOS_BRIDGE switch (default on): publish its events on the original's bus too. */
  omoiosBridge?: boolean;
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

export function createSupervisorService({
  store,
  publisherRedis,
  provider,
  logger,
  config,
  relayUrl,
  bodyLimit = '1mb',
  auth = EdgeAuth.off(),
  sandboxTokenTtlS = 24 * 3600,
  omoiosBridge = true,
}: SupervisorServiceDeps): SupervisorService {
  const log = logger.child({ component: 'supervisor' });
  const issuer = auth.issuer;
  if (auth.enabled && !issuer)
    throw new Error("auth is on but no key in AUTH_KEYS can sign: the supervisor issues every worker's sandbox token");
  const publisher = new EventPublisher(publisherRedis, log, { omoiosBus: omoiosBridge });
  const events = new EventRepository(store.pool);
  const sink = createEventSink({
    events,
    source: RELAY_EVENT_SOURCES.SUPERVISOR,
    publish: (stored) => publisher.publish(stored),
    logger: log,
  });
  const supervisor = new Supervisor({
    store,
    sessions: new SessionStore(store, config.keyPrefix),
    state: new SupervisorState(publisherRedis, config.keyPrefix),
    events,
    sink,
    provider,
    logger,
    config,
    relayUrl,
    sandboxTokens:
      auth.enabled && issuer
        ? { issue: (sandboxId) => issuer.issueSandboxToken(sandboxId, sandboxTokenTtlS), ttlSeconds: sandboxTokenTtlS }
        : undefined,
  });
  const router = Router();
  router.use('/api/v1/tasks', requireByMethod(auth, { read: ACTIONS.TASKS_READ, write: ACTIONS.TASKS_MANAGE }));
  router.post('/api/v1/sandboxes/:sandboxId/token', auth.require(ACTIONS.TOKEN_RENEW, { sandboxParam: 'sandboxId' }));
  router.get('/api/v1/sandboxes/:sandboxId/task', auth.require(ACTIONS.TASK_REPORT, { sandboxParam: 'sandboxId' }));
  router.post(
    '/api/v1/sandboxes/:sandboxId/task-complete',
    auth.require(ACTIONS.TASK_REPORT, { sandboxParam: 'sandboxId' }),
  );
  router.use(supervisorRouter(supervisor, { bodyLimit }));
  return {
    router,
    supervisor,
    start: () => supervisor.start(),
    running: () => supervisor.running(),
    async close() {
      await supervisor.close();
      await sink.whenIdle();
    },
  };
}
