import http from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { createHttpApp, finishHttpApp } from './http-app';
import type { Readiness, ReadinessCheck } from './readiness';
import { closeServer, listen, serverUrl, type ListenOptions } from './server';
import { createShutdown, handleSignals, type ShutdownStep } from './shutdown';

/**
 * One service as a process composes it: what it serves, what it must be for the process to be ready,
 * what it starts once the port is open, and how it stops. The process owns what modules share (the
 * store, the Redis connections, a shared event subscriber) and opens and closes those itself; a module
 * owns what it builds. Each app exports one (`createXModule(deps)`); its own `main.ts` and the
 * standalone launcher both compose it.
 */
export interface ServiceModule {
  readonly name: string;
  /** Its HTTP routes, mounted in the order the process lists its modules. */
  readonly router?: RequestHandler;
  /** Takes the server's upgrade requests (the WebSocket gateway). */
  attach?(server: http.Server): void;
  /** Checks of what it runs itself (consumers, loops, bridges), beside the process's Postgres and Redis checks. */
  readonly readiness: ReadinessCheck[];
  /** Runs once the port is open and before readiness turns green: consumers and loops start here. */
  start(): Promise<void>;
  /**
   * Its shutdown steps: `beforeHttpClose` stop taking work in (sockets, subscriptions, bridges) while the
   * port still answers; `afterHttpClose` drain what it accepted (consumers, event logs) before the
   * process closes Redis and Postgres.
   */
  readonly shutdown: { beforeHttpClose?: ShutdownStep[]; afterHttpClose?: ShutdownStep[] };
}

export interface HostModulesOptions {
  logger: Logger;
  /** The process's readiness, holding its own checks (Postgres, Redis); the modules' checks are added to it. */
  readiness: Readiness;
  modules: ServiceModule[];
  listen: ListenOptions;
  shutdownTimeoutMs: number;
  /** The process's own start before the port opens (a shared subscriber the WebSocket clients are fed from). */
  beforeListen?: () => Promise<void>;
  /** The process's own start once the port is open, before the modules start (e.g. learn the bound address). */
  onListening?: (server: http.Server) => void | Promise<void>;
  /** The process's own start after the modules started (a shared subscriber no client is fed from). */
  afterStart?: () => Promise<void>;
  /** The process's steps after the modules' `beforeHttpClose` (stop a shared subscriber). */
  beforeHttpClose?: ShutdownStep[];
  /** The process's steps after the modules' `afterHttpClose`, in order: close Redis, then Postgres. */
  afterHttpClose: ShutdownStep[];
}

export interface HostedModules {
  server: http.Server;
  /** Ordered, idempotent, bounded: readiness off, modules' and process's steps around closing the port. */
  close(): Promise<boolean>;
}

/**
 * Serves `modules` on one port: one HTTP app with their routers, their upgrade handlers and readiness
 * checks; listens, starts them in order, turns ready; and returns the one ordered shutdown (the caller
 * wires signals to it, or a test calls it).
 */
export async function hostModules(options: HostModulesOptions): Promise<HostedModules> {
  const { logger, readiness, modules } = options;
  // Each process documents what it hosts at /api/v1/openapi.json (the whole edge where the gateway runs).
  const app = createHttpApp({ logger, readiness, openapi: modules.map((module) => module.name) });
  for (const module of modules) if (module.router) app.use(module.router);
  finishHttpApp(app);
  const server = http.createServer(app);
  for (const module of modules) {
    module.attach?.(server);
    for (const check of module.readiness) readiness.add(check);
  }
  await options.beforeListen?.();
  await listen(server, options.listen);
  await options.onListening?.(server);
  for (const module of modules) await module.start();
  await options.afterStart?.();
  readiness.markReady();
  const close = createShutdown(
    logger,
    [
      { name: 'readiness', run: () => readiness.markDraining() },
      ...modules.flatMap((module) => module.shutdown.beforeHttpClose ?? []),
      ...(options.beforeHttpClose ?? []),
      { name: 'http', run: () => closeServer(server) },
      ...modules.flatMap((module) => module.shutdown.afterHttpClose ?? []),
      ...options.afterHttpClose,
    ],
    options.shutdownTimeoutMs,
  );
  return { server, close };
}

/** The end of a service's main: host its modules, log where, and wire SIGTERM/SIGINT to the shutdown. */
export async function serveModules(name: string, options: HostModulesOptions): Promise<http.Server> {
  const { server, close } = await hostModules(options);
  options.logger.info({ url: serverUrl(server) }, `${name} listening`);
  handleSignals(options.logger, close);
  return server;
}
