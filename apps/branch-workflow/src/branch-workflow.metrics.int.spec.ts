import { metricValue, testLogger, uniqueId } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { createBranchWorkflowService, type BranchWorkflowService } from './branch-workflow.service';
import { BranchWorkflowInfra, serviceApp } from './spec-support';

const logger = testLogger();
const REPO = 'acme/metrics';

describe('branch workflow /metrics', () => {
  let infra: BranchWorkflowInfra;
  let service: BranchWorkflowService;
  let app: Express;

  beforeAll(async () => {
    infra = await BranchWorkflowInfra.open('bw-metrics-test', REPO, { 'README.md': '# app\n' }, logger);
    service = createBranchWorkflowService({
      ...infra.deps(logger),
      config: {
        queuePrefix: uniqueId('bw-metrics'),
        concurrency: 1,
        mergeMethod: 'squash',
        mergeablePoll: { attempts: 2, intervalMs: 10 },
        github: infra.githubConfig(REPO, 0),
      },
    });
    app = serviceApp(service, logger);
  });
  afterAll(async () => {
    await service.close();
    await infra.close();
  });

  it('counts operations by outcome: changed, unchanged on a repeat, rejected when there is nothing to open', async () => {
    const scrape = async () => (await request(app).get('/metrics').expect(200)).text;
    const value = (text: string, operation: string, outcome: string) =>
      metricValue(text, 'relay_branch_workflow_operations_total', { operation, outcome }) ?? 0;
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
