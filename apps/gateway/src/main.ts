import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { EventSubscriber, closeRedis, createRedisClient, dependencyReadiness } from '@sandbox-relay/bus';
import { createLogger, logStartup, runMain, serveModules } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { parseGatewayEnv } from './env';
import { canaryConfig, gatewayConfig } from './gateway.config';
import { createGatewayModule } from './gateway.module';

async function main(): Promise<void> {
  const env = parseGatewayEnv();
  const logger = createLogger({ name: 'gateway', level: env.LOG_LEVEL });
  logStartup(logger, env);
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const subscriberRedis = createRedisClient(env.REDIS_URL, { name: 'gateway', role: 'subscriber', logger });
  const readiness = dependencyReadiness(store, subscriberRedis, logger);

  const subscriber = new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  // The canary writes through its own fail-fast publisher connection, as ingest does.
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'gateway', role: 'publisher', logger });
  const gateway = createGatewayModule({
    store,
    subscriber,
    logger,
    config: gatewayConfig(env),
    auth,
    isReady: () => !readiness.draining,
    canary: env.CANARY_ENABLED ? { publisherRedis, config: canaryConfig(env) } : undefined,
  });

  await serveModules('gateway', {
    logger,
    readiness,
    modules: [gateway],
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    // Live before the first client can connect: a replay hands over to it with no gap.
    beforeListen: () => subscriber.start(),
    beforeHttpClose: [{ name: 'subscriber', run: () => subscriber.stop() }],
    afterHttpClose: [
      { name: 'redis', run: () => Promise.all([closeRedis(subscriberRedis), closeRedis(publisherRedis)]) },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
