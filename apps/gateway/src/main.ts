import http from 'node:http';
import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { EventSubscriber, closeRedis, createRedisClient, pingRedis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, createLogger, finishHttpApp, logStartup, runMain, serve } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { createGatewayCanary } from './canary';
import { parseGatewayEnv } from './env';
import { gatewayConfig } from './gateway.config';
import { createGatewayService } from './gateway.service';

async function main(): Promise<void> {
  const env = parseGatewayEnv();
  const logger = createLogger({ name: 'gateway', level: env.LOG_LEVEL });
  logStartup(logger, env);
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const subscriberRedis = createRedisClient(env.REDIS_URL, { name: 'gateway', role: 'subscriber', logger });
  const readiness = new Readiness(1_000, logger)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => pingRedis(subscriberRedis) });

  const subscriber = new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  const service = createGatewayService({ store, subscriber, logger, config: gatewayConfig(env), auth, isReady: () => !readiness.draining });
  // The canary writes through its own fail-fast publisher connection, as ingest does.
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'gateway', role: 'publisher', logger });
  const canary = env.CANARY_ENABLED
    ? createGatewayCanary({ store, publisherRedis, subscriber, logger, config: { intervalMs: env.CANARY_INTERVAL_MS, maxAgeMs: env.CANARY_MAX_AGE_MS, retentionMs: env.CANARY_RETENTION_MS } })
    : undefined;
  if (canary) readiness.add({ name: 'canary', check: () => canary.canary.check() });
  const app = createHttpApp({ logger, readiness });
  app.use(service.router);
  finishHttpApp(app);
  const server = http.createServer(app);
  service.attach(server);
  await subscriber.start();

  await serve({
    name: 'gateway',
    logger,
    readiness,
    handler: server,
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    onListening: () => canary?.canary.start(),
    // Clients are told 1001 and reconnect (with `since`) to another replica before the port closes.
    beforeHttpClose: [
      { name: 'canary', run: () => canary?.canary.stop() },
      { name: 'websockets', run: () => service.close() },
      { name: 'subscriber', run: () => subscriber.stop() },
    ],
    afterHttpClose: [
      { name: 'canary-log', run: () => canary?.drain() },
      { name: 'redis', run: () => Promise.all([closeRedis(subscriberRedis), closeRedis(publisherRedis)]) },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
