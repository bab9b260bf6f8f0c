import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { EventSubscriber, closeRedis, createRedisClient, pingRedis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, createLogger, finishHttpApp, logStartup, runMain, serve } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { createBranchWorkflowService } from './branch-workflow.service';
import { branchWorkflowConfig, parseBranchWorkflowEnv } from './env';

async function main(): Promise<void> {
  const env = parseBranchWorkflowEnv();
  const logger = createLogger({ name: 'branch-workflow', level: env.LOG_LEVEL });
  logStartup(logger, env);
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));
  // The repository and API, never the token.
  logger.info({ repository: env.GITHUB_REPOSITORY ?? null, api: env.GITHUB_API_URL, mergeMethod: env.GITHUB_MERGE_METHOD }, 'github');
  logger.info({ namer: env.BRANCH_NAMER, ...(env.BRANCH_NAMER === 'anthropic' ? { model: env.BRANCH_NAMER_MODEL } : {}) }, 'branch namer');

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const subscriberRedis = createRedisClient(env.REDIS_URL, { name: 'branch-workflow', role: 'subscriber', logger });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'branch-workflow', role: 'publisher', logger });
  const workerRedis = createRedisClient(env.REDIS_URL, { name: 'branch-workflow', role: 'worker', logger });
  const subscriber = new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  // Every route (the ticket routes, the original's /api/v1/branch-workflow) is an operator's: the router guards them.
  const branches = createBranchWorkflowService({ store, subscriber, publisherRedis, workerRedis, logger, config: branchWorkflowConfig(env), omoiosBridge: env.OMOIOS_BRIDGE, auth });
  const readiness = new Readiness(1_000, logger)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => pingRedis(publisherRedis) })
    .add({
      name: 'branch-workflow-worker',
      check: async () => {
        if (!branches.running()) throw new Error('not consuming branch-workflow');
      },
    });

  const app = createHttpApp({ logger, readiness });
  app.use(branches.router);
  finishHttpApp(app);

  await serve({
    name: 'branch-workflow',
    logger,
    readiness,
    handler: app,
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    // The BullMQ worker was created paused; it consumes only once the service can serve.
    onListening: async () => {
      branches.start();
      await subscriber.start();
    },
    beforeHttpClose: [{ name: 'subscriber', run: () => subscriber.stop() }],
    afterHttpClose: [
      { name: 'branch-workflow', run: () => branches.close() },
      { name: 'redis', run: () => Promise.all([subscriberRedis, publisherRedis, workerRedis].map(closeRedis)) },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
