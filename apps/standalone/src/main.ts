import { ConfigError, createLogger, handleSignals, redactUrl } from '@sandbox-relay/service-kit';
import { parseStandaloneEnv } from './env';
import { startStandalone } from './standalone';

async function main(): Promise<void> {
  const env = parseStandaloneEnv();
  const logger = createLogger({ name: 'standalone', level: env.LOG_LEVEL });
  logger.info({ database: redactUrl(env.DATABASE_URL), redis: redactUrl(env.REDIS_URL) }, 'starting');
  const standalone = await startStandalone(env, logger);
  logger.info({ url: standalone.url }, 'sandbox relay listening');
  handleSignals(logger, standalone.close);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
