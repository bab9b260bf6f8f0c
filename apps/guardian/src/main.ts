import { EventSubscriber, closeRedis, createRedisClient, pingRedis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, createLogger, finishHttpApp, logStartup, runMain, serve } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { parseGuardianEnv } from './env';
import { guardianConfig } from './guardian.config';
import { createGuardianService } from './guardian.service';

async function main(): Promise<void> {
  const env = parseGuardianEnv();
  const logger = createLogger({ name: 'guardian', level: env.LOG_LEVEL });
  logStartup(logger, env);

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const subscriberRedis = createRedisClient(env.REDIS_URL, { name: 'guardian', role: 'subscriber', logger });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'guardian', role: 'publisher', logger });
  const queueRedis = createRedisClient(env.REDIS_URL, { name: 'guardian', role: 'worker', logger });
  const subscriber = new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  const guardian = createGuardianService({ store, subscriber, publisherRedis, queueRedis, logger, config: guardianConfig(env), omoiosBridge: env.OMOIOS_BRIDGE });
  const readiness = new Readiness(1_000, logger)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => pingRedis(publisherRedis) });

  // Health endpoints only: the guardian serves no API.
  const app = createHttpApp({ logger, readiness });
  finishHttpApp(app);

  await serve({
    name: 'guardian',
    logger,
    readiness,
    handler: app,
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    onListening: async () => {
      guardian.start();
      await subscriber.start();
    },
    beforeHttpClose: [
      { name: 'subscriber', run: () => subscriber.stop() },
      { name: 'guardian', run: () => guardian.close() },
    ],
    afterHttpClose: [
      { name: 'redis', run: () => Promise.all([subscriberRedis, publisherRedis, queueRedis].map(closeRedis)) },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
