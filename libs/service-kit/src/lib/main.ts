import type http from 'node:http';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError, redactUrl, type BaseEnv } from './config';
import type { Readiness } from './readiness';
import { closeServer, listen, serverUrl, type ListenOptions } from './server';
import { createShutdown, handleSignals, type ShutdownStep } from './shutdown';

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
  logger.info({ host: env.HOST, port: env.PORT, database: redactUrl(env.DATABASE_URL), redis: redactUrl(env.REDIS_URL) }, 'starting');
}

export interface ServeOptions {
  /** The service's name, for the "listening" line. */
  name: string;
  logger: Logger;
  readiness: Readiness;
  /** The express app (or a server that already has upgrade handlers attached). */
  handler: RequestListener | http.Server;
  listen: ListenOptions;
  shutdownTimeoutMs: number;
  /** Runs once the port is open and before readiness turns green (start consumers here). */
  onListening?: () => void | Promise<void>;
  /** Shutdown steps before the HTTP server stops accepting (close WebSockets, stop consuming). */
  beforeHttpClose?: ShutdownStep[];
  /** Shutdown steps after it, in order (drain work, then close Redis, then Postgres). */
  afterHttpClose: ShutdownStep[];
}

/**
 * The end of every service's main: listen, turn ready, log where, and wire SIGTERM/SIGINT to one
 * ordered shutdown (readiness off first, then `beforeHttpClose`, the HTTP server, `afterHttpClose`).
 */
export async function serve(options: ServeOptions): Promise<http.Server> {
  const { logger, readiness } = options;
  const server = await listen(options.handler, options.listen);
  await options.onListening?.();
  readiness.markReady();
  logger.info({ url: serverUrl(server) }, `${options.name} listening`);
  const shutdown = createShutdown(
    logger,
    [
      { name: 'readiness', run: () => readiness.markDraining() },
      ...(options.beforeHttpClose ?? []),
      { name: 'http', run: () => closeServer(server) },
      ...options.afterHttpClose,
    ],
    options.shutdownTimeoutMs,
  );
  handleSignals(logger, shutdown);
  return server;
}
