import { EdgeAuth, generateRelayKey } from '@sandbox-relay/auth';
import {
  BRANCH_WORKFLOW_EVENT_TYPES,
  ENTITY_TYPES,
  OmoiosBranchStatusResponse,
  OmoiosFinishWorkResponse,
  OmoiosMergeWorkResponse,
  OmoiosStartWorkResponse,
} from '@sandbox-relay/contracts';
import type { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { EventRepository } from '@sandbox-relay/store';
import { testLogger, uniqueId } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { createBranchWorkflowService, type BranchWorkflowService } from './branch-workflow.service';
import type { BranchWorkflowConfig } from './env';
import { BranchWorkflowInfra, serviceApp } from './spec-support';

const logger = testLogger();
const REPO = 'acme/omoios-app';

/** The original system's (OmoiOS) branch workflow calls, with its bodies, against a fake GitHub. */
describe("POST /api/v1/branch-workflow/{start,finish,merge,status} (the original system's edge)", () => {
  let infra: BranchWorkflowInfra;
  let github: FakeGitHubServer;
  let service: BranchWorkflowService;
  let app: Express;
  const config = (): BranchWorkflowConfig => ({
    queuePrefix: uniqueId('bw-omoios'),
    concurrency: 1,
    mergeMethod: 'squash',
    mergeablePoll: { attempts: 5, intervalMs: 20 },
    github: infra.githubConfig(REPO, 1),
  });
  const repo = { repo_owner: 'acme', repo_name: 'omoios-app', user_id: 'user-uuid-1' };
  const post = (step: string, body: object) => request(app).post(`/api/v1/branch-workflow/${step}`).send(body);
  const ticketId = () => uniqueId('T').toUpperCase();

  beforeAll(async () => {
    infra = await BranchWorkflowInfra.open('bw-omoios', REPO, { 'README.md': '# app\n' }, logger);
    github = infra.github;
    service = createBranchWorkflowService({ ...infra.deps(logger), config: config() });
    app = serviceApp(service, logger);
  });

  afterAll(async () => {
    await service.close();
    await infra.close();
  });

  it("starts, finishes, reports status and merges a ticket with the original's bodies and answers", async () => {
    const ticket = ticketId();
    const started = await post('start', {
      ticket_id: ticket,
      ticket_title: 'Add user authentication',
      ticket_type: 'bug',
      priority: 'high',
      ...repo,
    }).expect(200);
    expect(OmoiosStartWorkResponse.parse(started.body)).toEqual(started.body);
    const branch = `fix/${ticket.toLowerCase()}-add-user-authentication`;
    expect(started.body).toEqual({
      success: true,
      branch_name: branch,
      sha: github.branchSha(REPO, 'main'),
      error: null,
    });
    expect(github.branchSha(REPO, branch)).toBe(github.branchSha(REPO, 'main'));
    // Repeated (a retried call): the same branch, not a second one.
    expect(
      (
        await post('start', {
          ticket_id: ticket,
          ticket_title: 'Add user authentication',
          ticket_type: 'bug',
          ...repo,
        }).expect(200)
      ).body.branch_name,
    ).toBe(branch);

    github.push(REPO, branch, { 'src/auth.ts': 'export const auth = true;\n' }, 'add auth');
    const status = await post('status', { branch_name: branch, ...repo }).expect(200);
    expect(OmoiosBranchStatusResponse.parse(status.body)).toEqual(status.body);
    expect(status.body).toEqual({ success: true, ahead_by: 1, behind_by: 0, has_conflicts: false, error: null });

    const finished = await post('finish', {
      ticket_id: ticket,
      ticket_title: 'Add user authentication',
      branch_name: branch,
      pr_body: 'Adds a token check.',
      ...repo,
    }).expect(200);
    expect(OmoiosFinishWorkResponse.parse(finished.body)).toEqual(finished.body);
    const pull = github.pull(REPO, finished.body.pr_number);
    expect(finished.body).toEqual({
      success: true,
      pr_number: pull.number,
      pr_url: expect.stringContaining(`/pull/${pull.number}`),
      error: null,
    });
    expect(pull).toMatchObject({ head: branch, base: 'main', state: 'open' });
    expect(pull.body).toContain('Adds a token check.');

    const merged = await post('merge', {
      ticket_id: ticket,
      pr_number: finished.body.pr_number,
      merge_method: 'squash',
      delete_branch_after: true,
      ...repo,
    }).expect(200);
    expect(OmoiosMergeWorkResponse.parse(merged.body)).toEqual(merged.body);
    expect(merged.body).toEqual({
      success: true,
      merge_sha: github.branchSha(REPO, 'main'),
      has_conflicts: false,
      error: null,
    });
    expect(github.pull(REPO, finished.body.pr_number)).toMatchObject({ merged: true });
    expect(github.branchSha(REPO, branch)).toBeUndefined();
    // The same events as the ticket routes: dashboards following the ticket see the original's calls too.
    const events = await new EventRepository(infra.store.pool).list({
      entityTypes: [ENTITY_TYPES.TICKET],
      entityIds: [ticket],
      limit: 10,
    });
    expect(events.map((event) => event.event_type)).toEqual([
      BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED,
      BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED,
      BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED,
    ]);
  });

  it("names branches from the original's ticket types: a critical bug is a hotfix, an unknown type a feature", async () => {
    const hot = ticketId();
    expect(
      (
        await post('start', {
          ticket_id: hot,
          ticket_title: 'Login is down',
          ticket_type: 'bug',
          priority: 'critical',
          ...repo,
        }).expect(200)
      ).body.branch_name,
    ).toBe(`hotfix/${hot.toLowerCase()}-login-is-down`);
    const other = ticketId();
    expect(
      (await post('start', { ticket_id: other, ticket_title: 'Spike', ticket_type: 'research', ...repo }).expect(200))
        .body.branch_name,
    ).toBe(`feature/${other.toLowerCase()}-spike`);
  });

  it('answers the status of any branch of the repository, and 404 for one that does not exist', async () => {
    const name = `${uniqueId('manual')}/work`;
    github.repo(REPO).refs.set(name, github.branchSha(REPO, 'main')!);
    github.push(REPO, 'main', { 'CHANGELOG.md': 'x\n' }, 'main moves on');
    expect((await post('status', { branch_name: name, ...repo }).expect(200)).body).toMatchObject({
      ahead_by: 0,
      behind_by: 1,
    });
    const missing = await post('status', { branch_name: 'no/such-branch', ...repo }).expect(404);
    expect(missing.body.error).toMatchObject({ code: 'not_found', message: expect.stringContaining('no/such-branch') });
  });

  it("refuses what does not map with the relay's JSON errors: another repository, the wrong branch or pull request, keeping the branch", async () => {
    const ticket = ticketId();
    const other = await post('start', {
      ticket_id: ticket,
      ticket_title: 'Other repo',
      repo_owner: 'someone',
      repo_name: 'else',
    }).expect(422);
    expect(other.body.error.details).toEqual([
      { field: 'body.repo_owner', message: `this relay serves ${REPO} only` },
      { field: 'body.repo_name', message: `this relay serves ${REPO} only` },
    ]);
    expect(
      (await post('start', { ticket_id: ticket, ticket_title: 'Case', repo_owner: 'ACME', repo_name: 'Omoios-App' }))
        .status,
    ).toBe(200);
    const { body: work } = await request(app).get(`/api/v1/tickets/${ticket}/branch`).expect(200);
    github.push(REPO, work.branch_name, { 'a.txt': 'a\n' });

    const wrongBranch = await post('finish', {
      ticket_id: ticket,
      ticket_title: 'Case',
      branch_name: 'feature/something-else',
      ...repo,
    }).expect(409);
    expect(wrongBranch.body.error).toMatchObject({
      code: 'branch_mismatch',
      details: { branch_name: work.branch_name },
    });
    const unstarted = await post('finish', {
      ticket_id: ticketId(),
      ticket_title: 'Never started',
      branch_name: 'feature/x',
      ...repo,
    }).expect(404);
    expect(unstarted.body.error.code).toBe('not_found');

    const { body: opened } = await post('finish', {
      ticket_id: ticket,
      ticket_title: 'Case',
      branch_name: work.branch_name,
      ...repo,
    }).expect(200);
    const wrongPull = await post('merge', { ticket_id: ticket, pr_number: opened.pr_number + 100, ...repo }).expect(
      409,
    );
    expect(wrongPull.body.error).toMatchObject({
      code: 'pull_request_mismatch',
      details: { pr_number: opened.pr_number },
    });
    const keep = await post('merge', {
      ticket_id: ticket,
      pr_number: opened.pr_number,
      delete_branch_after: false,
      ...repo,
    }).expect(422);
    expect(keep.body.error.details[0].field).toBe('body.delete_branch_after');
    github.setMergeable(REPO, opened.pr_number, false, 'dirty');
    expect(
      (await post('merge', { ticket_id: ticket, pr_number: opened.pr_number, ...repo }).expect(409)).body.error.code,
    ).toBe('not_mergeable');
    expect(github.pull(REPO, opened.pr_number)).toMatchObject({ merged: false, state: 'open' });
  });

  it('answers malformed bodies with 422 naming each field, never 500', async () => {
    const res = await post('start', { ticket_id: 'has space', ticket_title: '', repo_owner: 'acme' }).expect(422);
    expect(res.body.error.details.map((issue: { field: string }) => issue.field).sort()).toEqual([
      'body.repo_name',
      'body.ticket_id',
      'body.ticket_title',
    ]);
    expect(
      (await post('merge', { ticket_id: 'T-1', pr_number: 'one', ...repo }).expect(422)).body.error.details[0].field,
    ).toBe('body.pr_number');
    expect((await post('status', [1, 2]).expect(422)).body.error.code).toBe('validation_failed');
    expect(
      (
        await request(app)
          .post('/api/v1/branch-workflow/status')
          .set('content-type', 'application/json')
          .send('{"branch_name":')
          .expect(400)
      ).body.error.code,
    ).toBe('malformed_json');
  });
});

describe('the branch workflow edge guards both prefixes itself (branches:manage)', () => {
  let infra: BranchWorkflowInfra;
  let service: BranchWorkflowService;
  let app: Express;
  let operator: string;
  let viewer: string;

  beforeAll(async () => {
    infra = await BranchWorkflowInfra.open('bw-omoios-auth', REPO, { 'README.md': '# app\n' }, logger);
    const auth = await EdgeAuth.fromSettings({
      mode: 'on',
      keys: [await generateRelayKey('eddsa', 'k1')],
      maxTokenAgeS: 3600,
    });
    operator = await auth.issuer!.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'ops', ttlSeconds: 600 });
    viewer = await auth.issuer!.issue({ kind: 'viewer', sandboxes: '*' }, { subject: 'eyes', ttlSeconds: 600 });
    // GitHub not configured: past the guard, a valid call answers 503.
    service = createBranchWorkflowService({
      ...infra.deps(logger),
      config: {
        queuePrefix: uniqueId('bw-auth'),
        concurrency: 1,
        mergeMethod: 'squash',
        mergeablePoll: { attempts: 1, intervalMs: 1 },
      },
      auth,
    });
    app = serviceApp(service, logger);
  });

  afterAll(async () => {
    await service.close();
    await infra.close();
  });

  it.each([
    ['POST', '/api/v1/branch-workflow/status', 503],
    ['POST', '/api/v1/branch-workflow/start', 422],
    ['GET', '/api/v1/branch-workflow/unknown', 404],
    ['GET', '/api/v1/tickets/T-1/branch', 503],
  ])(
    '%s %s: 401 without a token, 403 for a viewer, %s for an operator (past the guard)',
    async (method, path, past) => {
      const call = (token?: string) => {
        const req =
          method === 'POST'
            ? request(app).post(path).send({ branch_name: 'b', repo_owner: 'acme', repo_name: 'omoios-app' })
            : request(app).get(path);
        return token ? req.set('authorization', `Bearer ${token}`) : req;
      };
      expect((await call()).status).toBe(401);
      expect((await call(viewer)).status).toBe(403);
      expect((await call(operator)).status).toBe(past);
    },
  );
});
