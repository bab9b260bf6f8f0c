import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { closeRedis, createRedisClient, dependencyReadiness } from '@sandbox-relay/bus';
import { type HostModulesOptions, type Logger } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { ingestConfig, type IngestEnv } from './env';
import { createIngestModule } from './ingest.module';

/**
 * The ingest's process as its Deployment runs it, ready to host: its connections, its readiness, its module
 * and the order they close in. main.ts serves it (signals included); the bench hosts the very same in a child.
 */
export async function composeIngest(env: IngestEnv, logger: Logger): Promise<HostModulesOptions> {
  // Before anything connects: a bad key ring stops the service at start, not at its first request.
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'ingest', role: 'publisher', logger });
  // Its own connection: a subscribed connection can do nothing else.
  const bridgeRedis = env.OMOIOS_BRIDGE
    ? createRedisClient(env.REDIS_URL, { name: 'ingest-omoios-bridge', role: 'subscriber', logger })
    : undefined;
  const readiness = dependencyReadiness(store, publisherRedis, logger);

  const ingest = createIngestModule({
    store,
    publisherRedis,
    logger,
    config: ingestConfig(env),
    auth,
    omoiosBridge: env.OMOIOS_BRIDGE,
    bridgeSubscriberRedis: bridgeRedis,
  });

  return {
    logger,
    readiness,
    modules: [ingest],
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    afterHttpClose: [
      {
        name: 'redis',
        run: () => Promise.all([publisherRedis, ...(bridgeRedis ? [bridgeRedis] : [])].map(closeRedis)),
      },
      { name: 'postgres', run: () => store.close() },
    ],
  };
}
