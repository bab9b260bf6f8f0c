import { createLogger, logStartup, runMain, serveModules } from '@sandbox-relay/service-kit';
import { parseIngestEnv } from './env';
import { composeIngest } from './ingest.process';

async function main(): Promise<void> {
  const env = parseIngestEnv();
  const logger = createLogger({ name: 'ingest', level: env.LOG_LEVEL });
  logStartup(logger, env);
  await serveModules('ingest', await composeIngest(env, logger));
}

runMain(main);
