import { EventSubscriber, closeRedis, createRedisClient, pingRedis } from '@sandbox-relay/bus';
import {
  Readiness,
  closeServer,
  createHttpApp,
  createLogger,
  createShutdown,
  finishHttpApp,
  handleSignals,
  listen,
  logStartup,
  runMain,
  serverUrl,
} from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import http from 'node:http';
import { parseGatewayEnv } from './env';
import { gatewayConfig } from './gateway.config';
import { createGatewayService } from './gateway.service';

async function main(): Promise<void> {
  const env = parseGatewayEnv();
  const logger = createLogger({ name: 'gateway', level: env.LOG_LEVEL });
  logStartup(logger, env);

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const subscriberRedis = createRedisClient(env.REDIS_URL, { name: 'gateway', role: 'subscriber', logger });
  const readiness = new Readiness(1_000, logger)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => pingRedis(subscriberRedis) });

  const subscriber = new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  const service = createGatewayService({ store, subscriber, logger, config: gatewayConfig(env) });
  const app = createHttpApp({ logger, readiness });
  finishHttpApp(app);
  const server = http.createServer(app);
  service.attach(server);
  await subscriber.start();
  await listen(server, { host: env.HOST, port: env.PORT });
  readiness.markReady();
  logger.info({ url: serverUrl(server) }, 'gateway listening');

  const shutdown = createShutdown(
    logger,
    [
      { name: 'readiness', run: () => readiness.markDraining() },
      { name: 'websockets', run: () => service.close() },
      { name: 'subscriber', run: () => subscriber.stop() },
      { name: 'http', run: () => closeServer(server) },
      { name: 'redis', run: () => closeRedis(subscriberRedis) },
      { name: 'postgres', run: () => store.close() },
    ],
    env.SHUTDOWN_TIMEOUT_MS,
  );
  handleSignals(logger, shutdown);
}

runMain(main);
