import type { Logger } from 'pino';
import { ConfigError, redactUrl, type BaseEnv } from './config';

/**
 * Runs a service's `main`. A failure before the service is up (bad configuration, a port in use) is
 * printed in plain words — a ConfigError as its list of problems — and the process exits 1, so the
 * orchestrator shows the cause in the container's last lines.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  });
}

/** The first log line of every service: where it listens and what it talks to, credentials removed. */
export function logStartup(logger: Logger, env: BaseEnv): void {
  logger.info(
    { host: env.HOST, port: env.PORT, database: redactUrl(env.DATABASE_URL), redis: redactUrl(env.REDIS_URL) },
    'starting',
  );
}
