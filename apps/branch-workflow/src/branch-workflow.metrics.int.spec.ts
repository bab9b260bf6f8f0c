import { EventSubscriber, closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { createStore, type Store } from '@sandbox-relay/store';
import { metricValue, testInfra, testLogger, uniqueId } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { createBranchWorkflowService, type BranchWorkflowService } from './branch-workflow.service';

const logger = testLogger();
const REPO = 'acme/metrics';

describe('branch workflow /metrics', () => {
  let store: Store;
  let github: FakeGitHubServer;
  let redis: Redis[];
  let subscriber: EventSubscriber;
  let service: BranchWorkflowService;
  let app: Express;

  beforeAll(async () => {
    const { databaseUrl, redisUrl } = testInfra();
    store = createStore({ databaseUrl });
    github = await FakeGitHubServer.start();
    github.createRepo(REPO, { files: { 'README.md': '# app\n' } });
    redis = [
      createRedisClient(redisUrl, { name: 'bw-metrics-test', role: 'subscriber', logger }),
      createRedisClient(redisUrl, { name: 'bw-metrics-test', role: 'publisher', logger }),
      createRedisClient(redisUrl, { name: 'bw-metrics-test', role: 'worker', logger }),
    ];
    subscriber = new EventSubscriber(redis[0]!, logger);
    service = createBranchWorkflowService({
      store,
      subscriber,
      publisherRedis: redis[1]!,
      workerRedis: redis[2]!,
      logger,
      config: {
        queuePrefix: uniqueId('bw-metrics'),
        concurrency: 1,
        mergeMethod: 'squash',
        mergeablePoll: { attempts: 2, intervalMs: 10 },
        github: { token: github.token, repository: REPO, apiUrl: github.baseUrl, rateLimitRetries: 0, writeIntervalMs: 0, notificationIntervalMs: 0 },
      },
    });
    const express = createHttpApp({ logger, readiness: new Readiness() });
    express.use(service.router);
    app = finishHttpApp(express);
  });
  afterAll(async () => {
    await service.close();
    await Promise.all(redis.map(closeRedis));
    await store.close();
    await github.stop();
  });

  it('counts operations by outcome: changed, unchanged on a repeat, rejected when there is nothing to open', async () => {
    const scrape = async () => (await request(app).get('/metrics').expect(200)).text;
    const value = (text: string, operation: string, outcome: string) => metricValue(text, 'relay_branch_workflow_operations_total', { operation, outcome }) ?? 0;
    const before = await scrape();
    const ticket = uniqueId('T').toUpperCase();
    await request(app).post(`/api/v1/tickets/${ticket}/branch`).send({ title: 'Count me' }).expect(201);
    await request(app).post(`/api/v1/tickets/${ticket}/branch`).send({ title: 'Count me' }).expect(200);
    await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({}).expect(409);
    const after = await scrape();
    expect(value(after, 'start', 'changed')).toBe(value(before, 'start', 'changed') + 1);
    expect(value(after, 'start', 'unchanged')).toBe(value(before, 'start', 'unchanged') + 1);
    expect(value(after, 'pull_request', 'rejected')).toBe(value(before, 'pull_request', 'rejected') + 1);
    expect(after).not.toContain(ticket);
  });
});
