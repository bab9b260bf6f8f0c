import http from 'node:http';
import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { branchWorkflowConfig, createBranchWorkflowService } from '@sandbox-relay/branch-workflow';
import { EventSubscriber, closeRedis, createRedisClient, pingRedis, type Redis } from '@sandbox-relay/bus';
import { createGatewayService, gatewayConfig, type EventGateway } from '@sandbox-relay/gateway';
import { createGuardianService, guardianConfig } from '@sandbox-relay/guardian';
import { createIngestService, ingestConfig } from '@sandbox-relay/ingest';
import { createMessageQueueService, messageQueueConfig } from '@sandbox-relay/message-queue';
import { createSandboxProvider, createSupervisorService, supervisorConfig, type SupervisorService } from '@sandbox-relay/supervisor';
import {
  Readiness,
  closeServer,
  createHttpApp,
  createShutdown,
  finishHttpApp,
  listen,
  serverUrl,
  type Logger,
} from '@sandbox-relay/service-kit';
import type { SandboxProvider } from '@sandbox-relay/sandbox';
import { createStore } from '@sandbox-relay/store';
import type { StandaloneEnv } from './env';

export interface Standalone {
  server: http.Server;
  url: string;
  readiness: Readiness;
  /** The fault-tolerance supervisor (task edge and sweep), for tests and operators. */
  supervisor: SupervisorService;
  /** Where the supervisor's sandboxes run, for introspection (a sandbox's status and log tail). */
  provider: SandboxProvider;
  /** The WebSocket gateway, for introspection (connected clients). */
  gateway: EventGateway;
  /** The process's Redis connections, for operators' introspection and fault-injection tests (`omoiosBus`: null when OMOIOS_BRIDGE=off). */
  redis: { publisher: Redis; subscriber: Redis; worker: Redis; omoiosBus: Redis | null };
  /** Graceful, ordered, idempotent stop. */
  close(): Promise<boolean>;
}

/**
 * Every app in one process behind one port: the same service modules the separate Deployments run,
 * still talking to each other only through Redis (ingest publishes, the gateway subscribes).
 */
export async function startStandalone(env: StandaloneEnv, logger: Logger): Promise<Standalone> {
  // One key ring for every edge in the process; off (loudly logged) only on a loopback HOST.
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));
  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'standalone', role: 'publisher', logger });
  const subscriberRedis = createRedisClient(env.REDIS_URL, { name: 'standalone', role: 'subscriber', logger });
  const workerRedis = createRedisClient(env.REDIS_URL, { name: 'standalone', role: 'worker', logger });
  // The bridge's own subscriber: the gateway's connection reads only the relay's channels.
  const omoiosBusRedis = env.OMOIOS_BRIDGE ? createRedisClient(env.REDIS_URL, { name: 'standalone-omoios-bridge', role: 'subscriber', logger }) : null;
  const readiness = new Readiness(1_000, logger)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => pingRedis(publisherRedis) });

  const ingest = createIngestService({
    store,
    publisherRedis,
    logger: logger.child({ app: 'ingest' }),
    config: ingestConfig(env),
    auth,
    omoiosBridge: env.OMOIOS_BRIDGE,
    bridgeSubscriberRedis: omoiosBusRedis ?? undefined,
  });
  const bridge = ingest.bridge;
  if (bridge) readiness.add({ name: 'omoios-bridge', check: () => bridge.check() });
  const messages = createMessageQueueService({
    store,
    publisherRedis,
    workerRedis,
    logger: logger.child({ app: 'message-queue' }),
    config: messageQueueConfig(env),
    auth,
    omoiosBridge: env.OMOIOS_BRIDGE,
  });
  const subscriber = new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  const gateway = createGatewayService({ store, subscriber, logger: logger.child({ app: 'gateway' }), config: gatewayConfig(env), auth, isReady: () => !readiness.draining });
  const guardian = createGuardianService({
    store,
    subscriber,
    publisherRedis,
    queueRedis: workerRedis,
    logger: logger.child({ app: 'guardian' }),
    config: guardianConfig(env),
    omoiosBridge: env.OMOIOS_BRIDGE,
  });
  // Without GITHUB_TOKEN/GITHUB_REPOSITORY the workflow still mounts and answers 503 github_not_configured.
  const branches = createBranchWorkflowService({
    store,
    subscriber,
    publisherRedis,
    workerRedis,
    logger: logger.child({ app: 'branch-workflow' }),
    config: branchWorkflowConfig(env),
    omoiosBridge: env.OMOIOS_BRIDGE,
    // Every route (the ticket routes, the original's /api/v1/branch-workflow) is an operator's: the router guards them.
    auth,
  });

  // Sandboxes run on the local provider unless Daytona is configured; workers report back to this
  // process unless WORKER_RELAY_URL names another address (known once the server listens).
  const supervisorSettings = supervisorConfig(env);
  let workerRelayUrl = env.WORKER_RELAY_URL;
  const provider = createSandboxProvider(env, supervisorSettings.provider);
  const supervisor = createSupervisorService({
    store,
    publisherRedis,
    provider,
    logger: logger.child({ app: 'supervisor' }),
    config: supervisorSettings,
    relayUrl: () => workerRelayUrl ?? '',
    auth,
    sandboxTokenTtlS: env.SANDBOX_TOKEN_TTL_S,
    omoiosBridge: env.OMOIOS_BRIDGE,
  });

  const app = createHttpApp({ logger, readiness });
  app.use(ingest.router);
  app.use(messages.router);
  app.use(branches.router);
  app.use(supervisor.router);
  app.use(gateway.router);
  finishHttpApp(app);
  const server = http.createServer(app);
  gateway.attach(server);
  guardian.start();
  await subscriber.start();
  await listen(server, { host: env.HOST, port: env.PORT });
  messages.start();
  branches.start();
  // Bound to every interface (0.0.0.0 / ::), the local workers still reach it on loopback.
  workerRelayUrl ??= serverUrl(server).replace(/^http:\/\/(0\.0\.0\.0|\[::\])/, 'http://127.0.0.1');
  supervisor.start();
  await bridge?.start();
  readiness.markReady();

  const close = createShutdown(
    logger,
    [
      { name: 'readiness', run: () => readiness.markDraining() },
      { name: 'websockets', run: () => gateway.close() },
      { name: 'guardian', run: () => guardian.close() },
      { name: 'subscriber', run: () => subscriber.stop() },
      // Stop taking in the original's bus before the event log drains (what it took in is committed).
      { name: 'omoios-bridge', run: () => bridge?.stop() },
      { name: 'http', run: () => closeServer(server) },
      { name: 'event-log', run: () => ingest.drain() },
      { name: 'message-worker', run: () => messages.close() },
      { name: 'branch-workflow', run: () => branches.close() },
      { name: 'supervisor', run: () => supervisor.close() },
      { name: 'redis', run: () => Promise.all([publisherRedis, subscriberRedis, workerRedis, ...(omoiosBusRedis ? [omoiosBusRedis] : [])].map(closeRedis)) },
      { name: 'postgres', run: () => store.close() },
    ],
    env.SHUTDOWN_TIMEOUT_MS,
  );
  return { server, url: serverUrl(server), readiness, supervisor, provider, gateway: gateway.gateway, redis: { publisher: publisherRedis, subscriber: subscriberRedis, worker: workerRedis, omoiosBus: omoiosBusRedis }, close };
}
