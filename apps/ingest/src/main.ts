import { closeRedis, createRedisClient, pingRedis } from '@sandbox-relay/bus';
import {
  ConfigError,
  Readiness,
  closeServer,
  createHttpApp,
  createLogger,
  createShutdown,
  finishHttpApp,
  handleSignals,
  listen,
  redactUrl,
  serverUrl,
} from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { parseIngestEnv } from './env';
import { createIngestService } from './ingest.service';

async function main(): Promise<void> {
  const env = parseIngestEnv();
  const logger = createLogger({ name: 'ingest', level: env.LOG_LEVEL });
  logger.info({ port: env.PORT, host: env.HOST, database: redactUrl(env.DATABASE_URL), redis: redactUrl(env.REDIS_URL) }, 'starting');

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'ingest', role: 'publisher', logger });
  const readiness = new Readiness(1_000, logger)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => pingRedis(publisherRedis) });

  const ingest = createIngestService({
    store,
    publisherRedis,
    logger,
    config: { eventBodyLimit: env.EVENT_BODY_LIMIT, batchBodyLimit: env.BATCH_BODY_LIMIT, groupCommitMaxEvents: env.GROUP_COMMIT_MAX_EVENTS },
  });
  const app = createHttpApp({ logger, readiness });
  app.use(ingest.router);
  finishHttpApp(app);
  const server = await listen(app, { host: env.HOST, port: env.PORT });
  readiness.markReady();
  logger.info({ url: serverUrl(server) }, 'ingest listening');

  const shutdown = createShutdown(
    logger,
    [
      { name: 'readiness', run: () => readiness.markDraining() },
      { name: 'http', run: () => closeServer(server) },
      { name: 'event-log', run: () => ingest.drain() },
      { name: 'redis', run: () => closeRedis(publisherRedis) },
      { name: 'postgres', run: () => store.close() },
    ],
    env.SHUTDOWN_TIMEOUT_MS,
  );
  handleSignals(logger, shutdown);
}

main().catch((error: unknown) => {
  // Bootstrap failures happen before (or without) a logger: say what is wrong in plain words.
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
