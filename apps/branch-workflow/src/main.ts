import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { EventSubscriber, closeRedis, createRedisClient, dependencyReadiness } from '@sandbox-relay/bus';
import { createLogger, logStartup, runMain, serveModules } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { createBranchWorkflowModule } from './branch-workflow.module';
import { branchWorkflowConfig, parseBranchWorkflowEnv } from './env';

async function main(): Promise<void> {
  const env = parseBranchWorkflowEnv();
  const logger = createLogger({ name: 'branch-workflow', level: env.LOG_LEVEL });
  logStartup(logger, env);
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));
  // The repository and API, never the token.
  logger.info(
    { repository: env.GITHUB_REPOSITORY ?? null, api: env.GITHUB_API_URL, mergeMethod: env.GITHUB_MERGE_METHOD },
    'github',
  );
  logger.info(
    { namer: env.BRANCH_NAMER, ...(env.BRANCH_NAMER === 'anthropic' ? { model: env.BRANCH_NAMER_MODEL } : {}) },
    'branch namer',
  );

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const config = branchWorkflowConfig(env);
  // The task triggers need GitHub. Without it there are none: no live stream to read, so no connection for it
  // (every live event would be received and parsed for nothing).
  const subscriberRedis = config.github
    ? createRedisClient(env.REDIS_URL, { name: 'branch-workflow', role: 'subscriber', logger })
    : null;
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'branch-workflow', role: 'publisher', logger });
  const workerRedis = createRedisClient(env.REDIS_URL, { name: 'branch-workflow', role: 'worker', logger });
  const subscriber =
    subscriberRedis && new EventSubscriber(subscriberRedis, logger.child({ component: 'event-subscriber' }));
  // Every route (the ticket routes, the original's /api/v1/branch-workflow) is an operator's: the router guards them.
  const branches = createBranchWorkflowModule({
    store,
    subscriber,
    publisherRedis,
    workerRedis,
    logger,
    config,
    omoiosBridge: env.OMOIOS_BRIDGE,
    auth,
  });
  const readiness = dependencyReadiness(store, publisherRedis, logger);

  await serveModules('branch-workflow', {
    logger,
    readiness,
    modules: [branches],
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    // The task triggers observe from the first event the subscription delivers.
    afterStart: async () => {
      await subscriber?.start();
    },
    beforeHttpClose: [{ name: 'subscriber', run: async () => subscriber?.stop() }],
    afterHttpClose: [
      {
        name: 'redis',
        run: () =>
          Promise.all([publisherRedis, workerRedis, ...(subscriberRedis ? [subscriberRedis] : [])].map(closeRedis)),
      },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
