import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { closeRedis, createRedisClient, dependencyReadiness } from '@sandbox-relay/bus';
import { createLogger, logStartup, runMain, serveModules } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { messageQueueConfig, parseMessageQueueEnv } from './env';
import { createMessageQueueModule } from './message-queue.module';

async function main(): Promise<void> {
  const env = parseMessageQueueEnv();
  const logger = createLogger({ name: 'message-queue', level: env.LOG_LEVEL });
  logStartup(logger, env);
  // Before anything connects: a bad key ring stops the service at start, not at its first request.
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'message-queue', role: 'publisher', logger });
  const workerRedis = createRedisClient(env.REDIS_URL, { name: 'message-queue', role: 'worker', logger });
  const messages = createMessageQueueModule({
    store,
    publisherRedis,
    workerRedis,
    logger,
    config: messageQueueConfig(env),
    auth,
    omoiosBridge: env.OMOIOS_BRIDGE,
  });
  const readiness = dependencyReadiness(store, publisherRedis, logger);

  await serveModules('message-queue', {
    logger,
    readiness,
    modules: [messages],
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    afterHttpClose: [
      { name: 'redis', run: () => Promise.all([closeRedis(publisherRedis), closeRedis(workerRedis)]) },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
