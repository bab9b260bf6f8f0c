import type http from 'node:http';
import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { branchWorkflowConfig, createBranchWorkflowModule } from '@sandbox-relay/branch-workflow';
import { EventSubscriber, closeRedis, createRedisClient, dependencyReadiness, type Redis } from '@sandbox-relay/bus';
import { canaryConfig, createGatewayModule, gatewayConfig, type EventGateway } from '@sandbox-relay/gateway';
import { createGuardianModule, guardianConfig } from '@sandbox-relay/guardian';
import { createIngestModule, ingestConfig } from '@sandbox-relay/ingest';
import { createMessageQueueModule, messageQueueConfig } from '@sandbox-relay/message-queue';
import {
  createSandboxProvider,
  createSupervisorModule,
  supervisorConfig,
  type SupervisorService,
} from '@sandbox-relay/supervisor';
import { hostModules, serverUrl, type Logger, type Readiness } from '@sandbox-relay/service-kit';
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
  const omoiosBusRedis = env.OMOIOS_BRIDGE
    ? createRedisClient(env.REDIS_URL, { name: 'standalone-omoios-bridge', role: 'subscriber', logger })
    : null;
  const readiness = dependencyReadiness(store, publisherRedis, logger);

  // Every service's module, as its own main composes it; the routers mount in this order (the dashboard's last).
  const ingest = createIngestModule({
    store,
    publisherRedis,
    logger: logger.child({ app: 'ingest' }),
    config: ingestConfig(env),
    auth,
    omoiosBridge: env.OMOIOS_BRIDGE,
    bridgeSubscriberRedis: omoiosBusRedis ?? undefined,
  });
  const messages = createMessageQueueModule({
    store,
    publisherRedis,
    workerRedis,
    logger: logger.child({ app: 'message-queue' }),
    config: messageQueueConfig(env),
    auth,
    omoiosBridge: env.OMOIOS_BRIDGE,
  });
  const subscriber = new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  // Without GITHUB_TOKEN/GITHUB_REPOSITORY the workflow still mounts and answers 503 github_not_configured.
  const branches = createBranchWorkflowModule({
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
  const supervisor = createSupervisorModule({
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
  const gateway = createGatewayModule({
    store,
    subscriber,
    logger: logger.child({ app: 'gateway' }),
    config: gatewayConfig(env),
    auth,
    isReady: () => !readiness.draining,
    canary: env.CANARY_ENABLED ? { publisherRedis, config: canaryConfig(env) } : undefined,
  });
  const guardian = createGuardianModule({
    store,
    subscriber,
    publisherRedis,
    queueRedis: workerRedis,
    logger: logger.child({ app: 'guardian' }),
    config: guardianConfig(env),
    omoiosBridge: env.OMOIOS_BRIDGE,
  });

  const { server, close } = await hostModules({
    logger,
    readiness,
    modules: [ingest, messages, branches, supervisor, gateway, guardian],
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    // Live before the first WebSocket client can connect: a replay hands over to it with no gap.
    beforeListen: () => subscriber.start(),
    onListening: (listening) => {
      // Bound to every interface (0.0.0.0 / ::), the local workers still reach it on loopback.
      workerRelayUrl ??= serverUrl(listening).replace(/^http:\/\/(0\.0\.0\.0|\[::\])/, 'http://127.0.0.1');
    },
    beforeHttpClose: [{ name: 'subscriber', run: () => subscriber.stop() }],
    afterHttpClose: [
      {
        name: 'redis',
        run: () =>
          Promise.all(
            [publisherRedis, subscriberRedis, workerRedis, ...(omoiosBusRedis ? [omoiosBusRedis] : [])].map(closeRedis),
          ),
      },
      { name: 'postgres', run: () => store.close() },
    ],
  });
  return {
    server,
    url: serverUrl(server),
    readiness,
    supervisor: supervisor.supervisor,
    provider,
    gateway: gateway.gateway.gateway,
    redis: { publisher: publisherRedis, subscriber: subscriberRedis, worker: workerRedis, omoiosBus: omoiosBusRedis },
    close,
  };
}
