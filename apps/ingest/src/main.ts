import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { closeRedis, createRedisClient, pingRedis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, createLogger, finishHttpApp, logStartup, runMain, serve } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { ingestConfig, parseIngestEnv } from './env';
import { createIngestService } from './ingest.service';

async function main(): Promise<void> {
  const env = parseIngestEnv();
  const logger = createLogger({ name: 'ingest', level: env.LOG_LEVEL });
  logStartup(logger, env);
  // Before anything connects: a bad key ring stops the service at start, not at its first request.
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'ingest', role: 'publisher', logger });
  // Its own connection: a subscribed connection can do nothing else.
  const bridgeRedis = env.OMOIOS_BRIDGE ? createRedisClient(env.REDIS_URL, { name: 'ingest-omoios-bridge', role: 'subscriber', logger }) : undefined;
  const readiness = new Readiness(1_000, logger)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => pingRedis(publisherRedis) });

  const ingest = createIngestService({
    store,
    publisherRedis,
    logger,
    config: ingestConfig(env),
    auth,
    omoiosBridge: env.OMOIOS_BRIDGE,
    bridgeSubscriberRedis: bridgeRedis,
  });
  const bridge = ingest.bridge;
  if (bridge) readiness.add({ name: 'omoios-bridge', check: () => bridge.check() });
  const app = createHttpApp({ logger, readiness });
  app.use(ingest.router);
  finishHttpApp(app);

  await serve({
    name: 'ingest',
    logger,
    readiness,
    handler: app,
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    // Taking in the original's bus starts with serving (readiness waits for it) and stops first on shutdown.
    onListening: () => bridge?.start(),
    beforeHttpClose: [{ name: 'omoios-bridge', run: () => bridge?.stop() }],
    afterHttpClose: [
      // Every event already accepted is committed (and handed to the publisher) before Redis closes.
      { name: 'event-log', run: () => ingest.drain() },
      { name: 'redis', run: () => Promise.all([publisherRedis, ...(bridgeRedis ? [bridgeRedis] : [])].map(closeRedis)) },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
