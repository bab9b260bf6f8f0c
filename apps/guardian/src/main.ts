import { EventSubscriber, closeRedis, createRedisClient, dependencyReadiness } from '@sandbox-relay/bus';
import { createLogger, logStartup, runMain, serveModules } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { parseGuardianEnv } from './env';
import { guardianConfig } from './guardian.config';
import { createGuardianModule } from './guardian.module';

async function main(): Promise<void> {
  const env = parseGuardianEnv();
  const logger = createLogger({ name: 'guardian', level: env.LOG_LEVEL });
  logStartup(logger, env);

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const subscriberRedis = createRedisClient(env.REDIS_URL, { name: 'guardian', role: 'subscriber', logger });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'guardian', role: 'publisher', logger });
  const queueRedis = createRedisClient(env.REDIS_URL, { name: 'guardian', role: 'worker', logger });
  const subscriber = new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  const guardian = createGuardianModule({
    store,
    subscriber,
    publisherRedis,
    queueRedis,
    logger,
    config: guardianConfig(env),
    omoiosBridge: env.OMOIOS_BRIDGE,
  });
  const readiness = dependencyReadiness(store, publisherRedis, logger);

  // Health endpoints only: the guardian serves no API.
  await serveModules('guardian', {
    logger,
    readiness,
    modules: [guardian],
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    // The guardian observes from the first event the subscription delivers.
    afterStart: () => subscriber.start(),
    beforeHttpClose: [{ name: 'subscriber', run: () => subscriber.stop() }],
    afterHttpClose: [
      { name: 'redis', run: () => Promise.all([subscriberRedis, publisherRedis, queueRedis].map(closeRedis)) },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
