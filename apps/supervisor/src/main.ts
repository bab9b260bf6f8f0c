import { EdgeAuth, authSettings } from '@sandbox-relay/auth';
import { closeRedis, createRedisClient, dependencyReadiness } from '@sandbox-relay/bus';
import { createLogger, logStartup, runMain, serveModules } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { parseSupervisorEnv, supervisorConfig } from './env';
import { createSandboxProvider } from './sandbox-provider';
import { createSupervisorModule } from './supervisor.module';

async function main(): Promise<void> {
  const env = parseSupervisorEnv();
  const config = supervisorConfig(env);
  const logger = createLogger({ name: 'supervisor', level: env.LOG_LEVEL });
  logStartup(logger, env);
  const auth = await EdgeAuth.fromSettings(authSettings(env), logger.child({ component: 'auth' }));

  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'supervisor', role: 'publisher', logger });
  const relayUrl = env.WORKER_RELAY_URL ?? 'http://127.0.0.1:18000';
  const supervisor = createSupervisorModule({
    store,
    publisherRedis,
    provider: createSandboxProvider(env, config.provider),
    logger,
    config,
    relayUrl: () => relayUrl,
    auth,
    sandboxTokenTtlS: env.SANDBOX_TOKEN_TTL_S,
    omoiosBridge: env.OMOIOS_BRIDGE,
  });
  const readiness = dependencyReadiness(store, publisherRedis, logger);

  await serveModules('supervisor', {
    logger,
    readiness,
    modules: [supervisor],
    listen: { host: env.HOST, port: env.PORT },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    afterHttpClose: [
      { name: 'redis', run: () => closeRedis(publisherRedis) },
      { name: 'postgres', run: () => store.close() },
    ],
  });
}

runMain(main);
