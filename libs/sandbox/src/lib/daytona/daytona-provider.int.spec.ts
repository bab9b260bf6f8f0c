import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_ID_PATTERN } from '@sandbox-relay/contracts';
import { CLOSED_PORT, waitFor } from '@sandbox-relay/testing';
import { FakeDaytonaServer } from '../../testing/fake-daytona-server';
import { SandboxProviderError } from '../sandbox-errors';
import type { SandboxSpec } from '../sandbox-provider';
import { DaytonaProvider, WORKER_SESSION_ID, type DaytonaProviderOptions } from './daytona-provider';

const BUNDLE = 'console.log("worker bundle v1");\n';

describe('DaytonaProvider against a fake Daytona API (real SDK, real sockets)', () => {
  let fake: FakeDaytonaServer;
  let dir: string;
  let bundlePath: string;
  const providers: DaytonaProvider[] = [];

  beforeAll(async () => {
    fake = await FakeDaytonaServer.start({ apiKey: 'test-key' });
    dir = await mkdtemp(join(tmpdir(), 'daytona-provider-spec-'));
    bundlePath = join(dir, 'worker.js');
    await writeFile(bundlePath, BUNDLE);
  });
  beforeEach(() => fake.reset());
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((provider) => provider.close()));
  });
  afterAll(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  function provider(overrides: Partial<DaytonaProviderOptions> = {}): DaytonaProvider {
    const created = new DaytonaProvider({
      apiKey: fake.apiKey,
      apiUrl: fake.apiUrl,
      target: 'us',
      workerBundlePath: bundlePath,
      ...overrides,
    });
    providers.push(created);
    return created;
  }

  function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
    return {
      taskId: 'task-1',
      agentId: 'agent-1',
      env: { RELAY_URL: 'http://relay.test:8080', TASK_PROMPT: 'fix the bug' },
      ...overrides,
    };
  }

  async function expectProviderError(promise: Promise<unknown>): Promise<SandboxProviderError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SandboxProviderError);
    return error as SandboxProviderError;
  }

  it('spawns from the snapshot: env with SANDBOX_ID, labels, clone, upload, worker started async', async () => {
    const spawned = await provider().spawn(
      spec({ repository: { url: 'https://github.com/acme/app.git', branch: 'dev' }, labels: { team: 'core' } }),
    );

    expect(spawned.sandboxId).toMatch(SANDBOX_ID_PATTERN);
    expect(spawned).toMatchObject({ provider: 'daytona', workspaceDir: '/home/daytona/workspace' });
    const [create] = fake.requestsTo('POST', /^\/api\/sandbox$/);
    expect(create?.body).toMatchObject({
      name: spawned.sandboxId,
      snapshot: 'ai-agent-dev-light',
      target: 'us',
      autoStopInterval: 30,
      env: {
        RELAY_URL: 'http://relay.test:8080',
        TASK_PROMPT: 'fix the bug',
        TASK_ID: 'task-1',
        SANDBOX_ID: spawned.sandboxId,
      },
      labels: { 'sandbox-relay': 'worker', 'task-id': 'task-1', 'agent-id': 'agent-1', team: 'core' },
    });
    // Daytona rejects sizing next to a snapshot, so none may be sent.
    expect(create?.body).not.toHaveProperty('cpu');
    const sandbox = fake.sandbox(spawned.sandboxId)!;
    expect(spawned.externalId).toBe(sandbox.dto.id);
    expect(sandbox.clones).toEqual([
      expect.objectContaining({
        url: 'https://github.com/acme/app.git',
        branch: 'dev',
        path: '/home/daytona/workspace',
      }),
    ]);
    expect(sandbox.uploads.get('/home/daytona/sandbox-relay-worker.js')?.toString()).toBe(BUNDLE);
    const [command] = sandbox.sessions.get(WORKER_SESSION_ID) ?? [];
    expect(command).toMatchObject({
      runAsync: true,
      command:
        "cd '/home/daytona/workspace' && WORKSPACE_DIR='/home/daytona/workspace' node '/home/daytona/sandbox-relay-worker.js'",
    });
    expect(new Set(fake.requests.map((request) => request.authorization))).toEqual(new Set(['Bearer test-key']));
  });

  it('without a repository the worker runs in the sandbox work dir and nothing is cloned', async () => {
    const spawned = await provider().spawn(spec());
    expect(spawned.workspaceDir).toBe('/home/daytona');
    expect(fake.requestsTo('POST', /\/git\/clone$/)).toHaveLength(0);
  });

  it('in image mode sends the default 2 CPU / 4 GiB / 8 GiB and the spec overrides', async () => {
    await provider({ image: 'node:22-slim' }).spawn(spec({ resources: { cpu: 4 } }));
    const [create] = fake.requestsTo('POST', /^\/api\/sandbox$/);
    expect(create?.body).toMatchObject({
      cpu: 4,
      memory: 4,
      disk: 8,
      buildInfo: { dockerfileContent: 'FROM node:22-slim\n' },
    });
    expect(create?.body).not.toHaveProperty('snapshot');
  });

  it('refuses resources in snapshot mode before calling Daytona', async () => {
    const error = await expectProviderError(provider().spawn(spec({ resources: { cpu: 4 } })));
    expect(error).toMatchObject({ code: 'invalid_spec', retryable: false });
    expect(fake.requests).toHaveLength(0);
  });

  it('waits through a slow create (state creating for several polls)', async () => {
    fake.reset({ creatingPolls: 6 });
    const subject = provider();
    const spawning = subject.spawn(spec());
    const created = await waitFor(
      () =>
        fake.requestsTo('POST', /^\/api\/sandbox$/).length === 1 &&
        fake.sandbox(String((fake.requests[0]?.body as { name: string }).name)),
      'the create request',
    );
    expect(await subject.status(created.dto.name)).toBe('starting');
    const spawned = await spawning;
    expect(await subject.status(spawned.sandboxId)).toBe('running');
    expect(fake.requestsTo('GET', new RegExp(`^/api/sandbox/${created.dto.id}$`)).length).toBeGreaterThanOrEqual(5);
  });

  it.each([
    [400, 'upstream_rejected', false, 'Snapshot ai-agent-dev-light not found'],
    [500, 'upstream_unavailable', true, 'Internal server error'],
    [503, 'upstream_unavailable', true, 'No available runners'],
  ] as const)(
    'surfaces a %i create error as %s (retryable: %s) with the upstream message',
    async (status, code, retryable, message) => {
      fake.reset({ createError: { status, message } });
      const error = await expectProviderError(provider().spawn(spec()));
      expect(error).toMatchObject({ code, retryable, upstreamStatus: status, provider: 'daytona', operation: 'spawn' });
      expect(error.message).toContain(message);
    },
  );

  it('deletes a sandbox that failed to start and reports a retryable failure', async () => {
    fake.reset({ startOutcome: 'error' });
    const error = await expectProviderError(provider().spawn(spec()));
    expect(error).toMatchObject({ code: 'sandbox_failed', retryable: true });
    expect(error.message).toContain('runner failed to start the sandbox container');
    expect(fake.requestsTo('DELETE', /^\/api\/sandbox\//)).toHaveLength(1);
  });

  it('reports a failed clone as repository_clone_failed and deletes the sandbox', async () => {
    fake.reset({ cloneError: { status: 404, message: 'repository not found' } });
    const error = await expectProviderError(
      provider().spawn(spec({ repository: { url: 'https://github.com/acme/missing.git' } })),
    );
    expect(error).toMatchObject({ code: 'repository_clone_failed', retryable: false, upstreamStatus: 404 });
    expect(error.message).toContain('repository not found');
    expect(fake.requestsTo('DELETE', /^\/api\/sandbox\//)).toHaveLength(1);
    expect(fake.requestsTo('POST', /\/process\/session$/)).toHaveLength(0);
  });

  it('maps a rejected API key to unauthorized (401, not retryable)', async () => {
    const error = await expectProviderError(provider({ apiKey: 'wrong-key' }).spawn(spec()));
    expect(error).toMatchObject({ code: 'unauthorized', upstreamStatus: 401, retryable: false });
    expect(fake.requestsTo('DELETE', /.*/)).toHaveLength(0);
  });

  it('maps an unreachable API to a retryable error', async () => {
    const error = await expectProviderError(
      provider({ apiUrl: `http://127.0.0.1:${CLOSED_PORT}/api` }).status('relay-x'),
    );
    expect(error).toMatchObject({ code: 'upstream_unavailable', retryable: true, upstreamStatus: undefined });
  });

  it('fails fast when the worker bundle is missing, before creating anything', async () => {
    const error = await expectProviderError(provider({ workerBundlePath: join(dir, 'missing.js') }).spawn(spec()));
    expect(error).toMatchObject({ code: 'worker_bundle_missing', retryable: false });
    expect(fake.requests).toHaveLength(0);
  });

  it('terminates gracefully: stop, then delete', async () => {
    const subject = provider();
    const { sandboxId } = await subject.spawn(spec());
    await expect(subject.terminate(sandboxId, { graceMs: 2_000 })).resolves.toEqual({
      forced: false,
      alreadyGone: false,
    });
    expect(fake.requestsTo('POST', /\/stop$/)).toHaveLength(1);
    expect(fake.sandbox(sandboxId)?.dto.state ?? 'destroyed').toBe('destroyed');
    await expect(subject.terminate(sandboxId)).resolves.toEqual({ forced: false, alreadyGone: true });
  });

  it.each(['stuck', 'hang'] as const)('forces a delete when stop is %s past the grace period', async (stop) => {
    const subject = provider();
    const { sandboxId } = await subject.spawn(spec());
    fake.behaviour.stop = stop;
    const started = Date.now();
    await expect(subject.terminate(sandboxId, { graceMs: 300 })).resolves.toEqual({ forced: true, alreadyGone: false });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(fake.requestsTo('DELETE', /^\/api\/sandbox\//)).toHaveLength(1);
  });

  it('retries a delete Daytona refuses with 409 while the stop it accepted is still under way', async () => {
    const subject = provider();
    const { sandboxId } = await subject.spawn(spec());
    fake.reset({ stop: 'stuck', deleteConflicts: 2 });
    await expect(subject.terminate(sandboxId, { graceMs: 300 })).resolves.toEqual({ forced: true, alreadyGone: false });
    expect(fake.requestsTo('DELETE', /^\/api\/sandbox\//)).toHaveLength(3);
    expect(fake.sandbox(sandboxId)?.dto.state ?? 'destroyed').toBe('destroyed');
  });

  it('reports a state change that outlasts the delete retries as retryable, not as a refusal', async () => {
    const subject = provider({ stateChangeWaitMs: 600 });
    const { sandboxId } = await subject.spawn(spec());
    fake.reset({ stop: 'stuck', deleteConflicts: 1_000 });
    const error = await expectProviderError(subject.terminate(sandboxId, { graceMs: 300 }));
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      retryable: true,
      upstreamStatus: 409,
      operation: 'terminate',
      sandboxId,
    });
    expect(error.message).toContain('state change in progress');
    expect(fake.requestsTo('DELETE', /^\/api\/sandbox\//).length).toBeGreaterThan(1);
  });

  it('treats an unknown sandbox as already gone', async () => {
    await expect(provider().terminate('relay-unknown')).resolves.toEqual({ forced: false, alreadyGone: true });
  });

  it('maps Daytona states to provider statuses', async () => {
    const subject = provider();
    const { sandboxId } = await subject.spawn(spec());
    const cases = [
      ['started', 'running'],
      ['stopping', 'stopped'],
      ['archived', 'stopped'],
      ['error', 'failed'],
      ['build_failed', 'failed'],
      ['restoring', 'starting'],
    ] as const;
    for (const [state, status] of cases) {
      fake.setState(sandboxId, state);
      expect(await subject.status(sandboxId)).toBe(status);
    }
    expect(await subject.status('relay-unknown')).toBe('unknown');
  });

  it('returns the worker session output as logs', async () => {
    const subject = provider();
    const { sandboxId } = await subject.spawn(spec());
    expect(await subject.logs(sandboxId)).toBe('');
    fake.writeOutput(sandboxId, WORKER_SESSION_ID, 'agent.started\nheartbeat\n');
    expect(await subject.logs(sandboxId)).toBe('agent.started\nheartbeat\n');
    expect(
      fake.requestsTo('GET', new RegExp(`/process/session/${WORKER_SESSION_ID}/command/[^/]+/logs$`)),
    ).toHaveLength(2);
    const error = await expectProviderError(subject.logs('relay-unknown'));
    expect(error).toMatchObject({ code: 'not_found', retryable: false });
  });
});
