import { BRANCH_WORKFLOW_EVENT_TYPES, QUEUE_NAMES } from '@sandbox-relay/contracts';
import { JobProducer, closeRedis, createRedisClient } from '@sandbox-relay/bus';
import { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { createStore, type Store } from '@sandbox-relay/store';
import { WsProbe, testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { killSpawned, spawnApp } from './support/process';
import { postEvent, startRelay, type RunningRelay } from './support/relay';

const REPO = 'myorg/myapp';

async function post(http: string, path: string, body: object = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${http}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** The env that points the branch workflow at the fake GitHub, with GitHub's pacing off so tests stay quick. */
function githubEnv(github: FakeGitHubServer, queuePrefix: string): Record<string, string> {
  return {
    GITHUB_TOKEN: github.token,
    GITHUB_REPOSITORY: REPO,
    GITHUB_API_URL: github.baseUrl,
    GITHUB_WRITE_INTERVAL_MS: '0',
    GITHUB_NOTIFICATION_INTERVAL_MS: '0',
    MERGEABLE_POLL_INTERVAL_MS: '50',
    // A queue namespace of its own: relays of other suites (without GitHub) must not see these jobs.
    QUEUE_PREFIX: queuePrefix,
  };
}

// Seed phase 5: a ticket's work becomes a branch, a pull request and a merge, through the real Octokit
// client against a local GitHub REST server that keeps real state.
describe('seed phase 5: branch workflow', () => {
  let github: FakeGitHubServer;
  let relay: RunningRelay;
  let store: Store;

  beforeAll(async () => {
    github = await FakeGitHubServer.start();
    github.createRepo(REPO, { files: { 'README.md': '# myapp\n' } });
    relay = await startRelay(githubEnv(github, uniqueId('e2e-bw')));
    store = createStore({ databaseUrl: testInfra().databaseUrl });
  });
  afterAll(async () => {
    await relay.stop();
    await store.close();
    await github.stop();
  });

  it('test_start_work_creates_branch, test_finish_work_creates_pr, test_merge_work_completes_pr, streamed live', async () => {
    const ticket = `${Math.floor(Math.random() * 1e9)}`;
    const probe = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_types=ticket&entity_ids=${ticket}`);
    try {
      const started = await post(relay.http, `/api/v1/tickets/${ticket}/branch`, { title: 'Add authentication' });
      expect(started.status).toBe(201);
      expect(started.body.branch_name).toBe(`feature/${ticket}-add-authentication`);
      expect(github.branchSha(REPO, started.body.branch_name)).toBe(github.branchSha(REPO, 'main'));

      github.push(REPO, started.body.branch_name, { 'src/auth.py': 'def login():\n    return True\n' });
      const finished = await post(relay.http, `/api/v1/tickets/${ticket}/pull-request`);
      expect(finished.status).toBe(201);
      expect(finished.body.pr_number).toEqual(expect.any(Number));
      expect(github.pull(REPO, finished.body.pr_number)).toMatchObject({
        head: started.body.branch_name,
        base: 'main',
        state: 'open',
      });

      const merged = await post(relay.http, `/api/v1/tickets/${ticket}/merge`);
      expect(merged.status).toBe(200);
      expect(merged.body).toMatchObject({ state: 'completed', pr_number: finished.body.pr_number });
      expect(github.pull(REPO, finished.body.pr_number).merged).toBe(true);
      expect(github.branchSha(REPO, started.body.branch_name)).toBeUndefined();

      const frames = await probe.events(3, 10_000);
      expect(frames.map((frame) => frame.event_type)).toEqual([
        BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED,
        BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED,
        BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED,
      ]);
      expect(frames[2]).toMatchObject({
        entity_type: 'ticket',
        entity_id: ticket,
        payload: { merge_sha: merged.body.merge_sha, branch_deleted: true },
      });
    } finally {
      await probe.close();
    }
  });

  it("answers GitHub's refusals clearly: 409 head changed, and a failure event on the ticket", async () => {
    const ticket = uniqueId('T');
    const probe = await WsProbe.connect(
      `${relay.ws}/api/v1/events/ws/events?entity_types=ticket&entity_ids=${ticket}&event_types=BRANCH_WORKFLOW_FAILED`,
    );
    try {
      const { body: work } = await post(relay.http, `/api/v1/tickets/${ticket}/branch`, { title: 'Head moves' });
      github.push(REPO, work.branch_name, { [`x/${ticket}`]: '1\n' });
      const { body: pull } = await post(relay.http, `/api/v1/tickets/${ticket}/pull-request`);
      github.failNext({
        method: 'PUT',
        path: new RegExp(`/pulls/${pull.pr_number}/merge$`),
        status: 409,
        message: 'Head branch was modified. Review and try the merge again.',
      });
      const res = await post(relay.http, `/api/v1/tickets/${ticket}/merge`);
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'head_changed', details: { github_status: 409 } });
      const [failed] = await probe.events(1, 10_000);
      expect(failed!.payload).toMatchObject({ step: 'merge', code: 'head_changed', github_status: 409 });
    } finally {
      await probe.close();
    }
  });

  it('scenario 12: a task with a ticket gets a branch when its agent starts and a pull request when it completes', async () => {
    const ticket = uniqueId('T');
    const sandboxId = uniqueId('sb-phase5');
    const task = await store.prisma.task.create({
      data: { title: 'Add password reset', ticketId: ticket, sandboxId, status: 'running' },
    });
    expect(
      (
        await postEvent(relay.http, sandboxId, {
          event_type: 'agent.started',
          event_data: { task_id: task.id },
          source: 'agent',
        })
      ).status,
    ).toBe(200);
    const branch = `feature/${ticket.toLowerCase()}-add-password-reset`;
    await waitFor(() => github.branchSha(REPO, branch), 'the branch of the started task', 15_000);
    github.push(REPO, branch, { 'src/reset.py': 'def reset():\n    pass\n' });
    const completed = {
      event_type: 'agent.completed',
      event_data: { task_id: task.id, summary: 'Password reset by e-mail link.' },
      source: 'agent',
    };
    expect((await postEvent(relay.http, sandboxId, completed)).status).toBe(200);
    const view = await waitFor(
      async () => {
        const res = await fetch(`${relay.http}/api/v1/tickets/${ticket}/branch`);
        const body = (await res.json()) as { pr_number: number | null };
        return body.pr_number ? body : undefined;
      },
      'the pull request of the completed task',
      15_000,
    );
    expect(github.pull(REPO, view.pr_number!).body).toContain('Password reset by e-mail link.');
  });
});

describe('seed phase 5: without GitHub configured', () => {
  it('the standalone starts, is ready, and the workflow answers 503 github_not_configured', async () => {
    const relay = await startRelay({ QUEUE_PREFIX: uniqueId('e2e-nogh') });
    try {
      expect((await fetch(`${relay.http}/readyz`)).status).toBe(200);
      const res = await post(relay.http, `/api/v1/tickets/T-1/branch`, { title: 'x' });
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({
        code: 'github_not_configured',
        message: expect.stringContaining('GITHUB_TOKEN'),
      });
    } finally {
      await relay.stop();
    }
  });
});

describe('branch-workflow as a process', () => {
  let github: FakeGitHubServer;
  beforeAll(async () => {
    github = await FakeGitHubServer.start();
    github.createRepo(REPO);
  });
  afterAll(() => github.stop());
  afterEach(() => killSpawned());

  it('turns ready, and on SIGTERM finishes the job in flight before exiting 128+15', async () => {
    const queuePrefix = uniqueId('proc-bw');
    const service = await spawnApp('branch-workflow', githubEnv(github, queuePrefix));
    await waitFor(
      async () => (await fetch(`${service.http}/readyz`)).status === 200,
      'branch-workflow to be ready',
      10_000,
    );
    expect((await fetch(`${service.http}/healthz`)).status).toBe(200);

    const logger = testLogger();
    const redis = createRedisClient(testInfra().redisUrl, { name: 'e2e-producer', role: 'worker', logger });
    const producer = new JobProducer({ connection: redis, prefix: queuePrefix, logger });
    try {
      const ticket = uniqueId('T');
      // GitHub answers the branch creation slowly: SIGTERM arrives while the job waits for it.
      github.delayNext({ method: 'POST', path: /\/git\/refs$/, ms: 1_500 });
      const before = github.requestsTo('POST', /\/git\/refs$/).length;
      const jobId = await producer.enqueue(
        QUEUE_NAMES.BRANCH_WORKFLOW,
        { version: '1', action: 'start', ticket_id: ticket, ticket_title: 'Drain me', requested_by: 'e2e' },
        `drain-${ticket}`,
      );
      await waitFor(() => github.requestsTo('POST', /\/git\/refs$/).length > before, 'the job to reach GitHub', 10_000);
      service.child.kill('SIGTERM');
      const { code } = await service.exited;
      expect(code).toBe(143);
      expect(service.logs.some((line) => line.includes('"clean":true') && line.includes('shutdown complete'))).toBe(
        true,
      );
      expect(await producer.queue(QUEUE_NAMES.BRANCH_WORKFLOW).getJobState(jobId)).toBe('completed');
      expect(github.branchSha(REPO, `feature/${ticket.toLowerCase()}-drain-me`)).toBeDefined();
    } finally {
      await producer.close();
      await closeRedis(redis);
    }
  });

  it('starts without GitHub, and refuses half a GitHub configuration naming the variable', async () => {
    const bare = await spawnApp('branch-workflow', { QUEUE_PREFIX: uniqueId('proc-bw') });
    await waitFor(
      async () => (await fetch(`${bare.http}/readyz`)).status === 200,
      'branch-workflow to be ready',
      10_000,
    );
    expect((await post(bare.http, '/api/v1/tickets/T-1/merge')).status).toBe(503);
    bare.child.kill('SIGTERM');
    expect((await bare.exited).code).toBe(143);

    await expect(spawnApp('branch-workflow', { GITHUB_TOKEN: 'x', GITHUB_MERGE_METHOD: 'octopus' })).rejects.toThrow(
      /exited with 1 before listening:[\s\S]*invalid configuration:[\s\S]*GITHUB_MERGE_METHOD[\s\S]*/,
    );
    await expect(spawnApp('branch-workflow', { GITHUB_TOKEN: 'x' })).rejects.toThrow(
      /GITHUB_REPOSITORY: GITHUB_TOKEN and GITHUB_REPOSITORY go together/,
    );
  });
});
