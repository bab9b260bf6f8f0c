// Test helpers shared by this app's specs (excluded from the app's build by tsconfig.json).
import type { EdgeAuth } from '@sandbox-relay/auth';
import { closeRedis, createRedisClient } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, finishHttpApp, type Logger } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { testInfra, waitFor } from '@sandbox-relay/testing';
import type { Express } from 'express';
import { createMessageQueueService, type MessageQueueServiceDeps } from './message-queue.service';

export interface RunningMessageQueue {
  /** The service's routes on an HTTP app, as main.ts mounts them. */
  app: Express;
  /** Closes the service (its consumer finishes), its Redis connections and its store. */
  close(): Promise<void>;
}

/** The message queue service on the real PostgreSQL and Redis (one connection per role), started. */
export async function startMessageQueue(
  name: string,
  config: MessageQueueServiceDeps['config'],
  logger: Logger,
  auth?: EdgeAuth,
): Promise<RunningMessageQueue> {
  const { databaseUrl, redisUrl } = testInfra();
  const store = createStore({ databaseUrl });
  const publisherRedis = createRedisClient(redisUrl, { name, role: 'publisher', logger });
  const workerRedis = createRedisClient(redisUrl, { name, role: 'worker', logger });
  const messages = createMessageQueueService({ store, publisherRedis, workerRedis, logger, config, auth });
  const app = createHttpApp({ logger, readiness: new Readiness() });
  app.use(messages.router);
  finishHttpApp(app);
  messages.start();
  await waitFor(() => publisherRedis.status === 'ready', 'redis');
  return {
    app,
    async close() {
      await messages.close();
      await Promise.all([publisherRedis, workerRedis].map(closeRedis));
      await store.close();
    },
  };
}
