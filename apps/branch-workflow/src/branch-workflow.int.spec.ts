import {
  AGENT_EVENT_TYPES,
  BRANCH_WORKFLOW_EVENT_TYPES,
  ENTITY_TYPES,
  QUEUE_NAMES,
  SUPERVISOR_EVENT_TYPES,
  type BranchWorkflowJob,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import {
  EventPublisher,
  JobProducer,
  type EventSubscriber,
  closeRedis,
  createRedisClient,
  type Redis,
} from '@sandbox-relay/bus';
import type { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { EventLog, EventRepository, type Store } from '@sandbox-relay/store';
import { testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { TicketLocks } from './branch-work.repository';
import { createBranchWorkflowService, type BranchWorkflowService } from './branch-workflow.service';
import type { BranchWorkflowConfig } from './env';
import { BranchWorkflowInfra, serviceApp } from './spec-support';

const logger = testLogger();
const REPO = 'acme/app';

describe('branch workflow (HTTP edge, jobs, triggers) against a fake GitHub', () => {
  let store: Store;
  let github: FakeGitHubServer;
  let infra: BranchWorkflowInfra;
  let producerRedis: Redis;
  let subscriber: EventSubscriber;
  let service: BranchWorkflowService;
  let app: Express;
  let producer: JobProducer;
  let emitter: EventLog;
  const queuePrefix = uniqueId('bw-test');
  const events = () => new EventRepository(store.pool);

  const config = (overrides: Partial<NonNullable<BranchWorkflowConfig['github']>> = {}): BranchWorkflowConfig => ({
    queuePrefix,
    concurrency: 2,
    mergeMethod: 'squash',
    mergeablePoll: { attempts: 5, intervalMs: 20 },
    github: { ...infra.githubConfig(REPO, 2), ...overrides },
  });
  const appFor = (svc: BranchWorkflowService) => serviceApp(svc, logger);
  const ticketEvents = async (ticket: string): Promise<EventEnvelope[]> =>
    events().list({ entityTypes: [ENTITY_TYPES.TICKET], entityIds: [ticket], limit: 100 });
  const start = (ticket: string, body: object = { title: 'Add authentication' }) =>
    request(app).post(`/api/v1/tickets/${ticket}/branch`).send(body);
  const ticketId = () => uniqueId('T').toUpperCase();

  beforeAll(async () => {
    infra = await BranchWorkflowInfra.open(
      'bw-test',
      REPO,
      { 'README.md': '# app\n', 'src/index.ts': 'export {};\n' },
      logger,
    );
    ({ store, github, subscriber } = infra);
    producerRedis = createRedisClient(testInfra().redisUrl, { name: 'bw-test-producer', role: 'worker', logger });
    service = createBranchWorkflowService({ ...infra.deps(logger), config: config() });
    app = appFor(service);
    producer = new JobProducer({ connection: producerRedis, prefix: queuePrefix, logger });
    const publisher = new EventPublisher(infra.publisherRedis, logger);
    emitter = new EventLog(new EventRepository(store.pool), {
      onCommitted: (committed) => void publisher.publish(committed),
    });
    service.start();
    await subscriber.start();
  });

  afterAll(async () => {
    await service.close();
    await subscriber.stop();
    await producer.close();
    await emitter.whenIdle();
    await closeRedis(producerRedis);
    await infra.close();
  });

  it('start creates feature/<ticket>-<slug> from the default branch, once (seed 5.1)', async () => {
    const ticket = ticketId();
    const res = await start(ticket);
    expect(res.status).toBe(201);
    const branch = `feature/${ticket.toLowerCase()}-add-authentication`;
    expect(res.body).toMatchObject({
      ticket_id: ticket,
      repo: REPO,
      branch_name: branch,
      base_branch: 'main',
      state: 'started',
      changed: true,
      pr_number: null,
    });
    expect(github.branchSha(REPO, branch)).toBe(github.branchSha(REPO, 'main'));
    expect(res.body.base_sha).toBe(github.branchSha(REPO, 'main'));

    const again = await start(ticket);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ branch_name: branch, changed: false });
    expect(
      github
        .requestsTo('POST', /\/git\/refs$/)
        .filter((req) => (req.body as { ref: string }).ref === `refs/heads/${branch}`),
    ).toHaveLength(1);
    const stored = await ticketEvents(ticket);
    expect(stored.map((event) => event.event_type)).toEqual([BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED]);
    expect(stored[0]).toMatchObject({
      entity_type: 'ticket',
      entity_id: ticket,
      source: 'branch-workflow',
      payload: { branch_name: branch, repo: REPO },
    });
  });

  it('runs the steps of one ticket one at a time (advisory lock), other tickets meanwhile, and bounds the wait', async () => {
    const locks = new TicketLocks(store.pool, { waitMs: 5_000, pollMs: 10 });
    const [one, two] = [ticketId(), ticketId()];
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = locks.withLock(REPO, one, async () => {
      order.push('first-in');
      await gate;
      order.push('first-out');
    });
    await waitFor(() => order.includes('first-in'), 'the first holder');
    const second = locks.withLock(REPO, one, async () => void order.push('second'));
    await locks.withLock(REPO, two, async () => void order.push('other ticket'));
    const impatient = new TicketLocks(store.pool, { waitMs: 100, pollMs: 10 });
    await expect(impatient.withLock(REPO, one, async () => 'never')).rejects.toThrow(/is busy/);
    expect(order).toEqual(['first-in', 'other ticket']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first-in', 'other ticket', 'first-out', 'second']);
  });

  it('two concurrent starts for one ticket make one branch', async () => {
    const ticket = ticketId();
    const [a, b] = await Promise.all([start(ticket, { title: 'Race' }), start(ticket, { title: 'Race' })]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.branch_name).toBe(b.body.branch_name);
    expect(
      github
        .requestsTo('POST', /\/git\/refs$/)
        .filter((req) => (req.body as { ref: string }).ref === `refs/heads/${a.body.branch_name}`),
    ).toHaveLength(1);
    expect(await store.prisma.branchWork.count({ where: { ticketId: ticket } })).toBe(1);
  });

  it('resumes a start that died after claiming its name and creating the ref', async () => {
    const ticket = ticketId();
    const main = github.branchSha(REPO, 'main')!;
    const name = `feature/${ticket.toLowerCase()}-resume`;
    await store.prisma.branchWork.create({
      data: {
        ticketId: ticket,
        repo: REPO,
        branchName: name,
        baseBranch: 'main',
        baseSha: main,
        ticketTitle: 'Resume',
        state: 'creating',
      },
    });
    github.repo(REPO).refs.set(name, main);
    const res = await start(ticket, { title: 'Resume' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ branch_name: name, state: 'started' });
    expect((await ticketEvents(ticket)).map((event) => event.event_type)).toEqual([
      BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED,
    ]);
  });

  it('takes the next name (-2) when the branch name is already taken on GitHub', async () => {
    const ticket = ticketId();
    const taken = `fix/${ticket.toLowerCase()}-login-crash`;
    github.repo(REPO).refs.set(taken, github.branchSha(REPO, 'main')!);
    const res = await start(ticket, { title: 'Login crash', kind: 'fix' });
    expect(res.status).toBe(201);
    expect(res.body.branch_name).toBe(`${taken}-2`);
    expect(github.branchSha(REPO, `${taken}-2`)).toBeDefined();
  });

  it("a branch created by GitHub whose answer was lost (502, the client retries) is the ticket's branch, not a reason to take the next name", async () => {
    const ticket = ticketId();
    const branch = `feature/${ticket.toLowerCase()}-lost-answer`;
    github.failNext({
      method: 'POST',
      path: /\/git\/refs$/,
      status: 502,
      message: 'Server Error',
      afterApplying: true,
    });
    const res = await start(ticket, { title: 'Lost answer' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ branch_name: branch, state: 'started' });
    expect(github.branchSha(REPO, branch)).toBe(github.branchSha(REPO, 'main'));
    expect(github.branchSha(REPO, `${branch}-2`)).toBeUndefined();
    expect(
      await store.prisma.branchWork.findMany({ where: { ticketId: ticket }, select: { branchName: true } }),
    ).toEqual([{ branchName: branch }]);
  });

  it('finish opens a pull request whose body has the summary and the files changed, once (seed 5.2)', async () => {
    const ticket = ticketId();
    const { body: work } = await start(ticket, {
      title: 'Add authentication',
      description: 'Users sign in with a token.',
    });
    github.push(REPO, work.branch_name, { 'src/auth.ts': 'export const auth = true;\n' }, 'add auth');
    const res = await request(app)
      .post(`/api/v1/tickets/${ticket}/pull-request`)
      .send({ summary: 'Added token sign-in.' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: 'pr_opened', pr_number: expect.any(Number), changed: true });
    expect(res.body.pr_url).toMatch(new RegExp(`/${REPO}/pull/${res.body.pr_number}$`));
    const pull = github.pull(REPO, res.body.pr_number);
    expect(pull).toMatchObject({
      head: work.branch_name,
      base: 'main',
      state: 'open',
      title: `Add authentication (${ticket})`,
    });
    expect(pull.body).toContain('Users sign in with a token.');
    expect(pull.body).toContain('Added token sign-in.');
    expect(pull.body).toContain('- `src/auth.ts` (added, +1 −0)');

    const again = await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({});
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ pr_number: res.body.pr_number, changed: false });
    expect(
      github.requestsTo('POST', /\/pulls$/).filter((req) => (req.body as { head: string }).head === work.branch_name),
    ).toHaveLength(1);
    const types = (await ticketEvents(ticket)).map((event) => event.event_type);
    expect(types).toEqual([BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED, BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED]);
  });

  it('a ticket title longer than GitHub allows in a pull request title still opens one (title bounded, ticket id kept)', async () => {
    const ticket = ticketId();
    const title = `Refactor ${'the session store '.repeat(15)}`.trim();
    expect(title.length).toBeGreaterThan(256);
    const { body: work } = await start(ticket, { title });
    github.push(REPO, work.branch_name, { [`long/${ticket}.ts`]: 'export {};\n' });
    const res = await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({});
    expect(res.status).toBe(201);
    const pull = github.pull(REPO, res.body.pr_number);
    expect([...pull.title].length).toBeLessThanOrEqual(256);
    expect(pull.title.startsWith('Refactor the session store')).toBe(true);
    expect(pull.title.endsWith(`… (${ticket})`)).toBe(true);
    expect(pull.body).toContain(title);
  });

  it('merge merges when mergeable and deletes the branch, once (seed 5.3)', async () => {
    const ticket = ticketId();
    const { body: work } = await start(ticket);
    github.push(REPO, work.branch_name, { [`src/${ticket}.ts`]: 'export const done = true;\n' });
    const { body: opened } = await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({});
    const res = await request(app).post(`/api/v1/tickets/${ticket}/merge`).send({});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'completed', changed: true, pr_number: opened.pr_number });
    expect(github.pull(REPO, opened.pr_number)).toMatchObject({
      merged: true,
      state: 'closed',
      mergeCommitSha: res.body.merge_sha,
    });
    expect(github.branchSha(REPO, 'main')).toBe(res.body.merge_sha);
    expect(github.branchSha(REPO, work.branch_name)).toBeUndefined();

    const again = await request(app).post(`/api/v1/tickets/${ticket}/merge`).send({});
    expect(again.body).toMatchObject({ state: 'completed', changed: false, merge_sha: res.body.merge_sha });
    expect(github.requestsTo('PUT', new RegExp(`/pulls/${opened.pr_number}/merge$`))).toHaveLength(1);
    const merged = (await ticketEvents(ticket)).at(-1)!;
    expect(merged).toMatchObject({
      event_type: BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED,
      payload: { merge_sha: res.body.merge_sha, branch_deleted: true },
    });
  });

  it('a step that crashed between its event and its state write, run again, does not publish its event twice', async () => {
    const ticket = ticketId();
    const rollBack = (data: object) => store.prisma.branchWork.updateMany({ where: { ticketId: ticket }, data });
    const { body: work } = await start(ticket);
    // What a crash right after BRANCH_CREATED was stored leaves: the work still `creating`.
    await rollBack({ state: 'creating' });
    expect((await start(ticket)).body).toMatchObject({ branch_name: work.branch_name, state: 'started' });

    github.push(REPO, work.branch_name, { [`twice/${ticket}.ts`]: 'export {};\n' });
    const { body: opened } = await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({}).expect(201);
    await rollBack({ state: 'started', prNumber: null, prUrl: null });
    const reopened = await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({});
    expect(reopened.body).toMatchObject({ state: 'pr_opened', pr_number: opened.pr_number });

    const { body: merged } = await request(app).post(`/api/v1/tickets/${ticket}/merge`).send({}).expect(200);
    await rollBack({ state: 'merged' });
    expect((await request(app).post(`/api/v1/tickets/${ticket}/merge`).send({})).body).toMatchObject({
      state: 'completed',
      merge_sha: merged.merge_sha,
    });

    expect((await ticketEvents(ticket)).map((event) => event.event_type)).toEqual([
      BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED,
      BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED,
      BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED,
    ]);
  });

  it('a merge repeated after GitHub merged (lost answer) does not merge twice', async () => {
    const ticket = ticketId();
    const { body: work } = await start(ticket);
    github.push(REPO, work.branch_name, { [`lost/${ticket}.md`]: 'x\n' });
    const { body: opened } = await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({});
    // The merge answer times out after GitHub did merge; the caller (or the job) tries again.
    const pull = github.pull(REPO, opened.pr_number);
    Object.assign(pull, { merged: true, state: 'closed', mergeCommitSha: 'f00dfeed' });
    const res = await request(app).post(`/api/v1/tickets/${ticket}/merge`).send({});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'completed', merge_sha: 'f00dfeed' });
    expect(github.requestsTo('PUT', new RegExp(`/pulls/${opened.pr_number}/merge$`))).toHaveLength(0);
  });

  it("answers 409 not_mergeable and 409 head_changed with GitHub's words, and records BRANCH_WORKFLOW_FAILED", async () => {
    const ticket = ticketId();
    const { body: work } = await start(ticket);
    github.push(REPO, work.branch_name, { [`c/${ticket}.ts`]: '1\n' });
    const { body: opened } = await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({});
    github.setMergeable(REPO, opened.pr_number, false, 'blocked');
    const blocked = await request(app).post(`/api/v1/tickets/${ticket}/merge`).send({});
    expect(blocked.status).toBe(409);
    expect(blocked.body.error).toMatchObject({ code: 'not_mergeable', message: expect.stringContaining('blocked') });
    expect(github.requestsTo('PUT', new RegExp(`/pulls/${opened.pr_number}/merge$`))).toHaveLength(0);

    github.setMergeable(REPO, opened.pr_number, true);
    github.failNext({
      method: 'PUT',
      path: new RegExp(`/pulls/${opened.pr_number}/merge$`),
      status: 409,
      message: 'Head branch was modified. Review and try the merge again.',
    });
    const changed = await request(app).post(`/api/v1/tickets/${ticket}/merge`).send({});
    expect(changed.status).toBe(409);
    expect(changed.body.error).toMatchObject({
      code: 'head_changed',
      message: expect.stringContaining('Head branch was modified. Review and try the merge again.'),
    });
    expect(github.pull(REPO, opened.pr_number).merged).toBe(false);

    const failures = (await ticketEvents(ticket)).filter(
      (event) => event.event_type === BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_WORKFLOW_FAILED,
    );
    expect(failures.map((event) => [event.payload.step, event.payload.code, event.payload.github_status])).toEqual([
      ['merge', 'not_mergeable', 405],
      ['merge', 'head_changed', 409],
    ]);
  });

  it('answers 409 no_commits for a branch without work, 404 for a ticket never started', async () => {
    const ticket = ticketId();
    await start(ticket);
    const empty = await request(app).post(`/api/v1/tickets/${ticket}/pull-request`).send({});
    expect(empty.status).toBe(409);
    expect(empty.body.error.code).toBe('no_commits');
    const unknown = await request(app).post(`/api/v1/tickets/${ticketId()}/pull-request`).send({});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/has no branch/);
  });

  it('waits out a secondary rate limit (retry-after) and still creates the branch', async () => {
    const ticket = ticketId();
    github.secondaryRateLimitNext({ method: 'POST', path: /\/git\/refs$/, retryAfterSeconds: 1 });
    const before = github.requestsTo('POST', /\/git\/refs$/).length;
    const res = await start(ticket, { title: 'Rate limited' });
    expect(res.status).toBe(201);
    expect(github.requestsTo('POST', /\/git\/refs$/).length - before).toBe(2);
    expect(github.branchSha(REPO, res.body.branch_name)).toBeDefined();
  });

  it('names the repository when GitHub answers 404, and answers 503 when GitHub is not configured', async () => {
    const missing = createBranchWorkflowService({
      ...infra.deps(logger),
      config: { ...config({ repository: 'acme/gone' }) },
    });
    // Without GitHub its process opens no subscriber; with GitHub the triggers need one.
    const none = createBranchWorkflowService({
      ...infra.deps(logger),
      subscriber: null,
      config: { ...config(), github: undefined },
    });
    expect(() => createBranchWorkflowService({ ...infra.deps(logger), subscriber: null, config: config() })).toThrow(
      'the branch workflow with GitHub needs the live stream (a subscriber)',
    );
    try {
      const res = await request(appFor(missing)).post(`/api/v1/tickets/${ticketId()}/branch`).send({ title: 'x' });
      expect(res.status).toBe(502);
      expect(res.body.error).toMatchObject({
        code: 'github_not_found',
        message: expect.stringMatching(/Not Found.*acme\/gone/),
        details: { github_status: 404 },
      });
      const off = await request(appFor(none)).post(`/api/v1/tickets/${ticketId()}/branch`).send({ title: 'x' });
      expect(off.status).toBe(503);
      expect(off.body.error).toMatchObject({
        code: 'github_not_configured',
        message: expect.stringContaining('GITHUB_TOKEN'),
      });
    } finally {
      await missing.close();
      await none.close();
    }
  });

  it('refuses bad input with 4xx naming the field', async () => {
    expect((await request(app).post('/api/v1/tickets/a%20b/branch').send({ title: 'x' })).status).toBe(400);
    const noTitle = await start(ticketId(), {});
    expect(noTitle.status).toBe(422);
    expect(noTitle.body.error.details[0].field).toBe('body.title');
    const nul = await start(ticketId(), { title: 'a\u0000b' });
    expect(nul.status).toBe(422);
    expect(nul.body.error.details[0]).toMatchObject({ field: 'body.title', message: expect.stringContaining('NUL') });
    expect((await start(ticketId(), { title: '   ' })).body.error.details[0].field).toBe('body.title');
    const badKind = await start(ticketId(), { title: 'x', kind: 'hotfix' });
    expect(badKind.body.error.details[0].field).toBe('body.kind');
    const badMethod = await request(app).post(`/api/v1/tickets/${ticketId()}/merge`).send({ merge_method: 'octopus' });
    expect(badMethod.status).toBe(422);
    const unknownTask = await start(ticketId(), { title: 'x', task_id: 'no-such-task' });
    expect(unknownTask.status).toBe(422);
    expect(unknownTask.body.error.details[0]).toMatchObject({
      field: 'task_id',
      message: expect.stringContaining('names no task'),
    });
  });

  it('runs start, finish and merge jobs from branch-workflow; a merge job sent twice merges once', async () => {
    const ticket = ticketId();
    const queue = producer.queue(QUEUE_NAMES.BRANCH_WORKFLOW);
    const run = async (job: BranchWorkflowJob, jobId: string) => {
      await producer.enqueue(QUEUE_NAMES.BRANCH_WORKFLOW, job, jobId);
      await waitFor(
        async () => ['completed', 'failed'].includes(await queue.getJobState(jobId)),
        `job ${jobId}`,
        15_000,
      );
      return queue.getJob(jobId);
    };
    const base = { version: '1' as const, ticket_id: ticket, requested_by: 'test' };
    const started = await run({ ...base, action: 'start', ticket_title: 'Job driven' }, `s-${ticket}`);
    expect(started!.returnvalue).toMatchObject({
      branch_name: `feature/${ticket.toLowerCase()}-job-driven`,
      state: 'started',
    });
    github.push(REPO, started!.returnvalue.branch_name, { [`jobs/${ticket}.txt`]: 'done\n' });
    const finished = await run({ ...base, action: 'finish' }, `f-${ticket}`);
    expect(finished!.returnvalue).toMatchObject({ state: 'pr_opened' });
    const first = await run({ ...base, action: 'merge' }, `m1-${ticket}`);
    const second = await run({ ...base, action: 'merge' }, `m2-${ticket}`);
    expect(first!.returnvalue).toMatchObject({ state: 'completed', changed: true });
    expect(second!.returnvalue).toMatchObject({ state: 'completed', changed: false });
    expect(github.requestsTo('PUT', new RegExp(`/pulls/${finished!.returnvalue.pr_number}/merge$`))).toHaveLength(1);
  });

  it('fails a hopeless job at once and records BRANCH_WORKFLOW_FAILED', async () => {
    const ticket = ticketId();
    await start(ticket);
    const queue = producer.queue(QUEUE_NAMES.BRANCH_WORKFLOW);
    await producer.enqueue(
      QUEUE_NAMES.BRANCH_WORKFLOW,
      { version: '1', ticket_id: ticket, requested_by: 'test', action: 'finish' },
      `nc-${ticket}`,
    );
    await waitFor(async () => (await queue.getJobState(`nc-${ticket}`)) === 'failed', 'the job to fail', 15_000);
    const job = await queue.getJob(`nc-${ticket}`);
    expect(job!.attemptsMade).toBe(1);
    expect(job!.failedReason).toMatch(/no commits ahead of main/);
    await waitFor(
      async () =>
        (await ticketEvents(ticket)).some(
          (event) => event.event_type === BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_WORKFLOW_FAILED,
        ),
      'the failure event',
    );
  });

  it('a task with a ticket gets its branch when its agent starts and its pull request when it completes', async () => {
    const ticket = ticketId();
    const sandboxId = uniqueId('sb-bw');
    const task = await store.prisma.task.create({
      data: { title: 'Wire the login page', description: 'From the ticket.', ticketId: ticket, sandboxId },
    });
    const emit = (type: string, payload: Record<string, unknown>) =>
      emitter.append([
        {
          entityType: ENTITY_TYPES.SANDBOX,
          entityId: sandboxId,
          eventType: type,
          data: payload,
          dataJson: JSON.stringify(payload),
          source: 'agent',
        },
      ]);
    // The supervisor's TASK_STARTED (on the task) and the agent's agent.started (on its sandbox) both mean "started".
    const taskStarted = { task_id: task.id, sandbox_id: sandboxId };
    await emitter.append([
      {
        entityType: ENTITY_TYPES.TASK,
        entityId: task.id,
        eventType: SUPERVISOR_EVENT_TYPES.TASK_STARTED,
        data: taskStarted,
        dataJson: JSON.stringify(taskStarted),
        source: 'supervisor',
      },
    ]);
    await emit(AGENT_EVENT_TYPES.STARTED, { task_id: task.id });
    const branch = `feature/${ticket.toLowerCase()}-wire-the-login-page`;
    await waitFor(() => github.branchSha(REPO, branch), 'the branch', 15_000);
    github.push(REPO, branch, { 'web/login.html': '<form></form>\n' });
    await emit(AGENT_EVENT_TYPES.COMPLETED, { task_id: task.id, summary: 'The login page posts to /api/session.' });
    const opened = await waitFor(
      async () =>
        (await ticketEvents(ticket)).find((event) => event.event_type === BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED),
      'PR_OPENED',
      15_000,
    );
    expect(opened.payload).toMatchObject({ task_id: task.id, branch_name: branch, files_changed: 1 });
    const pull = github.pull(REPO, opened.payload.pr_number as number);
    expect(pull.body).toContain('The login page posts to /api/session.');
    expect(pull.body).toContain('- `web/login.html` (added, +1 −0)');
    const types = (await ticketEvents(ticket)).map((event) => event.event_type);
    expect(types).toEqual([BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED, BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED]);
    expect(await store.prisma.branchWork.count({ where: { ticketId: ticket } })).toBe(1);
  });
});
