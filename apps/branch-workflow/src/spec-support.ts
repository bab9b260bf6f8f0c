// Test helpers shared by this app's specs (excluded from the app's build by tsconfig.json).
import { EventSubscriber, closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { Readiness, createHttpApp, finishHttpApp, type Logger } from '@sandbox-relay/service-kit';
import { createStore, type Store } from '@sandbox-relay/store';
import { testInfra } from '@sandbox-relay/testing';
import type { Express } from 'express';
import type { BranchWorkflowService } from './branch-workflow.service';
import type { BranchWorkflowConfig } from './env';

/**
 * What the branch workflow's integration specs run on: the real PostgreSQL and Redis (one connection
 * per role, as main.ts opens them) and a fake GitHub holding one repository.
 */
export class BranchWorkflowInfra {
  private constructor(
    readonly store: Store,
    readonly github: FakeGitHubServer,
    readonly subscriberRedis: Redis,
    readonly publisherRedis: Redis,
    readonly workerRedis: Redis,
    readonly subscriber: EventSubscriber,
  ) {}

  static async open(
    name: string,
    repository: string,
    files: Record<string, string>,
    logger: Logger,
  ): Promise<BranchWorkflowInfra> {
    const { databaseUrl, redisUrl } = testInfra();
    const store = createStore({ databaseUrl });
    const github = await FakeGitHubServer.start();
    github.createRepo(repository, { files });
    const subscriberRedis = createRedisClient(redisUrl, { name, role: 'subscriber', logger });
    const publisherRedis = createRedisClient(redisUrl, { name, role: 'publisher', logger });
    const workerRedis = createRedisClient(redisUrl, { name, role: 'worker', logger });
    return new BranchWorkflowInfra(
      store,
      github,
      subscriberRedis,
      publisherRedis,
      workerRedis,
      new EventSubscriber(subscriberRedis, logger),
    );
  }

  /** The service's dependencies other than its config. */
  deps(logger: Logger) {
    return {
      store: this.store,
      subscriber: this.subscriber,
      publisherRedis: this.publisherRedis,
      workerRedis: this.workerRedis,
      logger,
    };
  }

  /** GitHub settings pointing at the fake, with no write pacing. */
  githubConfig(repository: string, rateLimitRetries: number): NonNullable<BranchWorkflowConfig['github']> {
    return {
      token: this.github.token,
      repository,
      apiUrl: this.github.baseUrl,
      rateLimitRetries,
      writeIntervalMs: 0,
      notificationIntervalMs: 0,
    };
  }

  /** Closes the connections, the store and the fake GitHub (close the services on them first). */
  async close(): Promise<void> {
    await Promise.all([this.subscriberRedis, this.publisherRedis, this.workerRedis].map(closeRedis));
    await this.store.close();
    await this.github.stop();
  }
}

/** An HTTP app serving the service's routes, as main.ts mounts them. */
export function serviceApp(service: BranchWorkflowService, logger: Logger): Express {
  const express = createHttpApp({ logger, readiness: new Readiness() });
  express.use(service.router);
  return finishHttpApp(express);
}
