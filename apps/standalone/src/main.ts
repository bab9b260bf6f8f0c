import { createLogger, handleSignals, logStartup, runMain } from '@sandbox-relay/service-kit';
import { parseStandaloneEnv } from './env';
import { startStandalone } from './standalone';

async function main(): Promise<void> {
  const env = parseStandaloneEnv();
  const logger = createLogger({ name: 'standalone', level: env.LOG_LEVEL });
  logStartup(logger, env);
  const standalone = await startStandalone(env, logger);
  logger.info({ url: standalone.url }, 'sandbox relay listening');
  handleSignals(logger, standalone.close);
}

runMain(main);
