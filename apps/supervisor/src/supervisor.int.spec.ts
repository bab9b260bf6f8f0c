import { SUPERVISOR_EVENT_TYPES, type TaskView } from '@sandbox-relay/contracts';
import type { Redis } from '@sandbox-relay/bus';
import { SandboxProviderError } from '@sandbox-relay/sandbox';
import { FakeSandboxProvider } from '@sandbox-relay/sandbox/testing';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { EventRepository, createStore, type Store } from '@sandbox-relay/store';
import { CLOSED_PORT, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import type { SupervisorConfig } from './supervisor';
import { createSupervisorService } from './supervisor.service';
import { SupervisorHarness, testSupervisorConfig } from './spec-support';

const logger = testLogger();

// The supervisor against the real Redis and PostgreSQL, with the fake provider (its calls are recorded)
// and heartbeats written straight into the event store, as ingest would. Each sweep is called by hand;
// intervals are short configuration, and the ladder counts on the database's clock.
describe('supervisor service', () => {
  let store: Store;
  let redis: Redis;
  let events: EventRepository;
  const harness = new SupervisorHarness('sup-test', logger);
  const config = (overrides: Partial<SupervisorConfig> = {}) => testSupervisorConfig(overrides);
  const service = (cfg: SupervisorConfig, provider = new FakeSandboxProvider(uniqueId('fake'))) =>
    harness.service(cfg, provider);
  const beat = (sandboxId: string, status = 'idle', type = 'heartbeat') =>
    events.appendMany([
      {
        entityType: 'sandbox',
        entityId: sandboxId,
        eventType: type,
        data: { status },
        dataJson: JSON.stringify({ status }),
        source: 'worker',
      },
    ]);
  const { supervisorEvents, supervisorEventTypes: types } = harness;
  const startTask = async (app: Express, body: object = {}): Promise<TaskView> => {
    const res = await request(app)
      .post('/api/v1/tasks')
      .send({ title: 'fix the build', plan: [{ run: 'npm test' }], ...body });
    expect(res.status).toBe(201);
    return res.body as TaskView;
  };

  beforeAll(async () => {
    await harness.open();
    ({ store, redis, events } = harness);
  });
  afterAll(() => harness.close());

  it('starts a task through POST /api/v1/tasks: Task and SandboxSession rows, the worker env, and GET reads it back', async () => {
    const { app, provider } = service(config());
    const view = await startTask(app, {
      prompt: 'make the tests pass',
      worker_env: { POLL_INTERVAL_MS: '100', RELAY_URL: 'http://evil' },
    });
    expect(view).toMatchObject({
      title: 'fix the build',
      status: 'running',
      agent_id: 'shell-agent',
      sessions: [{ status: 'running', restart_count: 0 }],
      restarts: [],
    });
    expect(view.sandbox_id).toBe(view.sessions[0]!.sandbox_id);
    const [spawn] = provider.spawned;
    expect(spawn!.spec.taskId).toBe(view.id);
    expect(spawn!.spec.env).toMatchObject({
      RELAY_URL: 'http://127.0.0.1:18000', // worker_env cannot redirect the worker
      TASK_ID: view.id,
      TASK_PLAN: JSON.stringify([{ run: 'npm test' }]),
      TASK_PROMPT: 'make the tests pass',
      HEARTBEAT_INTERVAL_MS: '300',
      POLL_INTERVAL_MS: '100',
      AGENT: 'shell',
    });
    expect(spawn!.spec.env.TASK_CONTEXT).toBeUndefined();
    const read = await request(app).get(`/api/v1/tasks/${view.id}`).expect(200);
    expect(read.body).toEqual(view);
    expect(await types(view.sandbox_id!)).toEqual([SUPERVISOR_EVENT_TYPES.TASK_STARTED]);
  });

  it('refuses bad input with 4xx naming the problem, and answers a provider failure without a 500', async () => {
    const { app, provider } = service(config());
    const bad = await request(app).post('/api/v1/tasks').send({ title: '', plan: 'not-a-list', agent: 'robot' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'body.agent',
      'body.plan',
      'body.title',
    ]);
    const claudePlan = await request(app)
      .post('/api/v1/tasks')
      .send({ title: 't', agent: 'claude', plan: [{ run: 'x' }] });
    expect(claudePlan.status).toBe(422);
    expect(claudePlan.body.error.details[0].field).toBe('body.plan');
    const badStep = await request(app)
      .post('/api/v1/tasks')
      .send({ title: 't', plan: [{ fly: 'away' }] });
    expect(badStep.status).toBe(422);
    expect(badStep.body.error.details).toEqual([{ field: 'body.plan', message: expect.stringContaining('step') }]);
    const objectPlan = await request(app)
      .post('/api/v1/tasks')
      .send({ title: 'object plan', plan: { complete_when_done: true, steps: [{ say: 'hi' }] } });
    expect(objectPlan.status).toBe(201);
    expect(provider.spawned.at(-1)!.spec.env.TASK_PLAN).toBe(
      JSON.stringify({ complete_when_done: true, steps: [{ say: 'hi' }] }),
    );
    expect(
      (await request(app).post('/api/v1/tasks').set('content-type', 'application/json').send('{"title":')).status,
    ).toBe(400);
    expect((await request(app).get('/api/v1/tasks/not-a-uuid')).status).toBe(400);
    const missing = await request(app).get('/api/v1/tasks/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');

    provider.failNextSpawn(
      new SandboxProviderError({
        code: 'upstream_unavailable',
        message: 'daytona is down',
        provider: 'daytona',
        operation: 'spawn',
        retryable: true,
      }),
    );
    const failed = await request(app).post('/api/v1/tasks').send({ title: 'doomed', prompt: 'x' });
    expect(failed.status).toBe(503);
    const task = await store.prisma.task.findFirst({ where: { title: 'doomed' }, orderBy: { createdAt: 'desc' } });
    expect(task?.status).toBe('failed');
  });

  it('answers 503, not 500, while PostgreSQL is unreachable, and spawns nothing', async () => {
    const deadStore = createStore({
      databaseUrl: `postgresql://postgres@127.0.0.1:${CLOSED_PORT}/nowhere`,
      connectTimeoutMs: 500,
    });
    const provider = new FakeSandboxProvider(uniqueId('fake'));
    const svc = createSupervisorService({
      store: deadStore,
      publisherRedis: redis,
      provider,
      logger,
      config: config(),
      relayUrl: () => 'http://127.0.0.1:18000',
    });
    const app = createHttpApp({ logger, readiness: new Readiness() });
    app.use(svc.router);
    finishHttpApp(app);
    const res = await request(app).post('/api/v1/tasks').send({ title: 'no database', prompt: 'x' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('service_unavailable');
    expect((await request(app).get('/api/v1/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(503);
    await expect(svc.supervisor.sweep()).rejects.toMatchObject({ status: 503 });
    expect(provider.spawned).toEqual([]);
    await svc.close();
    await deadStore.close();
  });

  it("records heartbeats as the session's last-seen time and leaves a beating sandbox alone", async () => {
    // A wide grace: the claim is about beats that arrive, not about how fast this machine sweeps.
    const { app, sup } = service(config({ heartbeat: { intervalMs: 300, graceMs: 1_000 } }));
    const view = await startTask(app);
    const sandboxId = view.sandbox_id!;
    const [stored] = await beat(sandboxId);
    await sup.sweep();
    const session = await store.prisma.sandboxSession.findUnique({ where: { sandboxId } });
    expect(session?.lastHeartbeatAt?.toISOString()).toBe(stored!.timestamp);
    // Beating every 100 ms through more than three intervals plus the grace: no escalation.
    const until = Date.now() + 2_500;
    while (Date.now() < until) {
      await beat(sandboxId, 'running');
      const report = await sup.sweep();
      expect(report.actions.filter((action) => action.sandboxId === sandboxId)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await types(sandboxId)).toEqual([SUPERVISOR_EVENT_TYPES.TASK_STARTED]);
  });

  it('climbs the ladder on silence (warning, DEGRADED, restart) and restarts with the trajectory from the event store', async () => {
    const { app, sup, provider } = service(config());
    const view = await startTask(app, { prompt: 'fix the flaky login test' });
    const oldId = view.sandbox_id!;
    await beat(oldId);
    await events.appendMany([
      {
        entityType: 'sandbox',
        entityId: oldId,
        eventType: 'agent.tool_use',
        data: { tool: 'bash', command: 'npm test -- login' },
        dataJson: JSON.stringify({ tool: 'bash', command: 'npm test -- login' }),
        source: 'agent',
      },
      {
        entityType: 'sandbox',
        entityId: oldId,
        eventType: 'agent.message',
        data: { role: 'assistant', content: 'the login test times out' },
        dataJson: JSON.stringify({ role: 'assistant', content: 'the login test times out' }),
        source: 'agent',
      },
    ]);
    provider.appendLogs(oldId, 'worker: stuck in a syscall\n');

    await waitFor(
      async () => (await sup.sweep(), (await types(oldId)).includes(SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED)),
      'the warning',
      5_000,
    );
    expect((await store.prisma.sandboxSession.findUnique({ where: { sandboxId: oldId } }))?.status).toBe('running');
    await waitFor(
      async () => (await sup.sweep(), (await types(oldId)).includes(SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED)),
      'DEGRADED',
      5_000,
    );
    expect((await store.prisma.sandboxSession.findUnique({ where: { sandboxId: oldId } }))?.status).toBe('degraded');
    await waitFor(
      async () => (
        await sup.sweep(),
        await sup.settled(),
        (await types(oldId)).includes(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED)
      ),
      'the restart',
      5_000,
    );

    expect(await types(oldId)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED,
      SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
    ]);
    const after = (await request(app).get(`/api/v1/tasks/${view.id}`).expect(200)).body as TaskView;
    const newId = after.sandbox_id!;
    expect(newId).not.toBe(oldId);
    expect(after.status).toBe('running');
    expect(after.sessions.map((s) => [s.sandbox_id, s.status, s.restart_count])).toEqual([
      [newId, 'running', 1],
      [oldId, 'replaced', 0],
    ]);
    expect(after.restarts).toEqual([
      expect.objectContaining({ old_sandbox_id: oldId, new_sandbox_id: newId, reason: 'missed 3 heartbeats' }),
    ]);
    expect(provider.terminated).toContainEqual({ sandboxId: oldId, graceMs: 50 });
    const restarted = (await supervisorEvents(oldId)).at(-1)!;
    expect(restarted.payload).toMatchObject({
      task_id: view.id,
      old_sandbox_id: oldId,
      new_sandbox_id: newId,
      attempt: 1,
      forensics: {
        logs_tail: 'worker: stuck in a syscall\n',
        last_events: expect.arrayContaining([expect.objectContaining({ event_type: 'agent.message' })]),
      },
    });
    // The replacement's worker starts with the context built from the old sandbox's events.
    const replacement = provider.spawned.find((spawn) => spawn.sandboxId === newId)!;
    expect(replacement.spec.env.TASK_PROMPT).toBe('fix the flaky login test');
    const context = replacement.spec.env.TASK_CONTEXT!;
    expect(context).toContain(`You are resuming task ${view.id}`);
    expect(context).toContain('fix the flaky login test');
    expect(context).toContain('npm test -- login');
    expect(context).toContain('the login test times out');
    // The event reached the task's own stream too, and the new sandbox's.
    expect(await types(view.id)).toContain(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED);
    expect(await types(newId)).toEqual([SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED]);
  });

  it('reports recovery when heartbeats come back after a warning', async () => {
    const { app, sup } = service(config());
    const { sandbox_id: sandboxId } = await startTask(app);
    await waitFor(
      async () => (await sup.sweep(), (await types(sandboxId!)).includes(SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED)),
      'the warning',
      5_000,
    );
    await beat(sandboxId!);
    await sup.sweep();
    expect(await types(sandboxId!)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_RECOVERED,
    ]);
  });

  it('quarantines a task that keeps failing after maxRestarts restarts, and restarts it no more', async () => {
    const { app, sup, provider } = service(
      config({ restart: { maxRestarts: 2, windowMs: 60_000, baseBackoffMs: 1, maxBackoffMs: 10 } }),
    );
    const view = await startTask(app);
    await waitFor(
      async () => (
        await sup.sweep(),
        await sup.settled(),
        (await store.prisma.task.findUnique({ where: { id: view.id } }))?.status === 'quarantined'
      ),
      'the quarantine',
      15_000,
    );
    const after = (await request(app).get(`/api/v1/tasks/${view.id}`).expect(200)).body as TaskView;
    expect(after.restarts).toHaveLength(2);
    expect(after.sessions.map((s) => s.status)).toEqual(['quarantined', 'replaced', 'replaced']);
    expect(provider.spawned).toHaveLength(3);
    const quarantined = (await supervisorEvents(view.id)).filter(
      (event) => event.event_type === SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED,
    );
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]!.payload).toMatchObject({
      restarts_in_window: 2,
      reason: expect.stringContaining('limit 2'),
    });
    // More sweeps, more silence: nothing else happens.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await sup.sweep();
    await sup.settled();
    expect(provider.spawned).toHaveLength(3);
  });

  it('with two replicas sweeping the same sandboxes, warns, degrades and restarts once', async () => {
    const shared = config();
    const provider = new FakeSandboxProvider(uniqueId('fake'));
    const a = service(shared, provider);
    const b = service(shared, provider);
    const view = await startTask(a.app);
    await waitFor(
      async () => {
        await Promise.all([a.sup.sweep(), b.sup.sweep()]);
        await Promise.all([a.sup.settled(), b.sup.settled()]);
        return (await types(view.sandbox_id!)).includes(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED);
      },
      'the restart',
      5_000,
    );
    await Promise.all([a.sup.sweep(), b.sup.sweep()]);
    await Promise.all([a.sup.settled(), b.sup.settled()]);
    expect(await types(view.sandbox_id!)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED,
      SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
    ]);
    expect(provider.spawned).toHaveLength(2);
    expect(await store.prisma.restartEvent.count({ where: { taskId: view.id } })).toBe(1);
  });

  it('continues the ladder where it stood when the supervisor is replaced mid-way (state in Redis and PostgreSQL)', async () => {
    const shared = config();
    const provider = new FakeSandboxProvider(uniqueId('fake'));
    const first = service(shared, provider);
    const view = await startTask(first.app);
    await waitFor(
      async () => (
        await first.sup.sweep(),
        (await types(view.sandbox_id!)).includes(SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED)
      ),
      'the warning',
      5_000,
    );
    await first.svc.close();
    const second = service(shared, provider);
    await waitFor(
      async () => (
        await second.sup.sweep(),
        await second.sup.settled(),
        (await types(view.sandbox_id!)).includes(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED)
      ),
      'the restart',
      5_000,
    );
    expect(await types(view.sandbox_id!)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED,
      SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
    ]);
  });

  it('stops an idle sandbox, never a working one, and never one of another deployment', async () => {
    const { app, sup, provider } = service(
      config({ idleAfterMs: 600, heartbeat: { intervalMs: 5_000, graceMs: 1_000 } }),
    );
    const idle = await startTask(app);
    const busy = await startTask(app);
    const other = service(config()); // another scope: its sessions are not ours to stop
    const foreign = await startTask(other.app);
    await beat(idle.sandbox_id!, 'idle');
    await beat(busy.sandbox_id!, 'running');
    await beat(idle.sandbox_id!, 'idle', 'agent.waiting');
    await waitFor(
      async () => (
        await sup.sweep(),
        await sup.settled(),
        (await types(idle.sandbox_id!)).includes(SUPERVISOR_EVENT_TYPES.SANDBOX_IDLE_STOPPED)
      ),
      'the idle stop',
      5_000,
    );
    // The busy one has been silent as long (only heartbeats), but its agent is running a command.
    await beat(busy.sandbox_id!, 'running');
    await sup.sweep();
    await sup.settled();
    expect(await types(busy.sandbox_id!)).toEqual([SUPERVISOR_EVENT_TYPES.TASK_STARTED]);
    expect(await types(foreign.sandbox_id!)).toEqual([SUPERVISOR_EVENT_TYPES.TASK_STARTED]);
    expect(provider.terminated.map((t) => t.sandboxId)).toEqual([idle.sandbox_id]);
    expect((await request(app).get(`/api/v1/tasks/${idle.id}`)).body).toMatchObject({
      status: 'stopped',
      sessions: [{ status: 'stopped' }],
    });
    expect((await request(app).get(`/api/v1/tasks/${busy.id}`)).body).toMatchObject({
      status: 'running',
      sessions: [{ status: 'running' }],
    });
  });

  it('a replacement that cannot be spawned is retried by the next sweep, and the failed attempt counts', async () => {
    const { app, sup, provider } = service(config());
    const view = await startTask(app);
    provider.failNextSpawn(
      new SandboxProviderError({
        code: 'upstream_unavailable',
        message: 'no capacity',
        provider: 'daytona',
        operation: 'spawn',
        retryable: true,
      }),
    );
    await waitFor(
      async () => (
        await sup.sweep(),
        await sup.settled(),
        (await types(view.sandbox_id!)).includes(SUPERVISOR_EVENT_TYPES.RESTART_FAILED)
      ),
      'the failed restart',
      5_000,
    );
    expect(await store.prisma.sandboxSession.findUnique({ where: { sandboxId: view.sandbox_id! } })).toMatchObject({
      status: 'restarting',
    });
    await sup.sweep();
    await sup.settled();
    const after = (await request(app).get(`/api/v1/tasks/${view.id}`).expect(200)).body as TaskView;
    expect(after.restarts.map((r) => r.new_sandbox_id === null)).toEqual([true, false]);
    // The failed attempt's session was written before the spawn was asked for: it stays, `failed`.
    expect(after.sessions.map((s) => s.status)).toEqual(['running', 'failed', 'replaced']);
    expect((await supervisorEvents(view.sandbox_id!)).at(-1)).toMatchObject({
      event_type: SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
      payload: { attempt: 2 },
    });
  });

  it('restarts a sandbox whatever its own events hold: a payload that cannot become text does not wedge the restart', async () => {
    const { app, sup } = service(config());
    const view = await startTask(app);
    const oldId = view.sandbox_id!;
    // Event data is the sandbox's own, free-form JSON: an argv entry no String() can convert.
    const data = { tool: 'bash', input: { argv: ['echo', { toString: 1 }] } };
    await events.appendMany([
      {
        entityType: 'sandbox',
        entityId: oldId,
        eventType: 'agent.tool_use',
        data,
        dataJson: JSON.stringify(data),
        source: 'agent',
      },
    ]);
    await waitFor(
      async () => (
        await sup.sweep(),
        await sup.settled(),
        (await types(oldId)).includes(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED)
      ),
      'the restart',
      5_000,
    );
    const after = (await request(app).get(`/api/v1/tasks/${view.id}`).expect(200)).body as TaskView;
    expect(after.status).toBe('running');
    expect(after.sandbox_id).not.toBe(oldId);
  });

  it('close() waits for a restart in flight: the replacement and its event are committed when it resolves', async () => {
    const { svc, app, sup } = service(
      config({ restart: { maxRestarts: 3, windowMs: 60_000, baseBackoffMs: 400, maxBackoffMs: 400 } }),
    );
    const view = await startTask(app);
    await waitFor(async () => (await sup.sweep()).restarts.includes(view.sandbox_id!), 'a restart to begin', 5_000);
    await svc.close();
    expect(await types(view.sandbox_id!)).toContain(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED);
    expect((await store.prisma.task.findUnique({ where: { id: view.id } }))?.sandboxId).not.toBe(view.sandbox_id);
  });

  it("marks a task completed when its worker's last beat says so, and stops a task on request", async () => {
    const { app, sup, provider } = service(config({ heartbeat: { intervalMs: 5_000, graceMs: 1_000 } }));
    const done = await startTask(app);
    await beat(done.sandbox_id!, 'completed');
    await sup.sweep();
    await sup.settled();
    expect((await request(app).get(`/api/v1/tasks/${done.id}`)).body).toMatchObject({
      status: 'completed',
      sessions: [{ status: 'completed' }],
    });
    expect(await types(done.sandbox_id!)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.TASK_COMPLETED,
    ]);

    const stopped = await startTask(app);
    const res = await request(app).post(`/api/v1/tasks/${stopped.id}/stop`).send({ reason: 'no longer needed' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'stopped', sessions: [{ status: 'stopped' }] });
    expect(provider.terminated.map((t) => t.sandboxId)).toContain(stopped.sandbox_id);
    expect((await supervisorEvents(stopped.id)).at(-1)).toMatchObject({
      event_type: SUPERVISOR_EVENT_TYPES.TASK_STOPPED,
      payload: { reason: 'no longer needed' },
    });
    // Stopping again changes nothing.
    expect((await request(app).post(`/api/v1/tasks/${stopped.id}/stop`)).body.status).toBe('stopped');
  });

  it("ends an interrupted restart whose old worker's last beat (delivered late) said completed, instead of resuming it", async () => {
    const { app, sup, provider } = service(config({ heartbeat: { intervalMs: 5_000, graceMs: 1_000 } }));
    const view = await startTask(app);
    // What a replica dying mid-restart leaves (the session `restarting`, no lock), then the old worker's
    // backlog arriving with its final beat.
    await store.prisma.sandboxSession.update({
      where: { sandboxId: view.sandbox_id! },
      data: { status: 'restarting' },
    });
    await beat(view.sandbox_id!, 'completed');

    const report = await sup.sweep();
    await sup.settled();
    expect(report).toMatchObject({ restarts: [], completed: [view.sandbox_id] });
    expect((await request(app).get(`/api/v1/tasks/${view.id}`)).body).toMatchObject({
      status: 'completed',
      sandbox_id: view.sandbox_id,
      sessions: [{ status: 'completed' }],
      restarts: [],
    });
    expect(provider.spawned).toHaveLength(1);
    expect(provider.terminated.map((t) => t.sandboxId)).toEqual([view.sandbox_id]);
    expect(await types(view.sandbox_id!)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.TASK_COMPLETED,
    ]);
  });

  it('records a restart whose sandbox printed NUL bytes and an emoji where the log tail is cut', async () => {
    const { app, sup, provider } = service(config({ heartbeat: { intervalMs: 5_000, graceMs: 1_000 } }));
    const view = await startTask(app);
    // 4,095 UTF-16 units after the emoji: a tail of the last 4,096 units would begin in the middle of it.
    provider.appendLogs(view.sandbox_id!, `binary\u0000output 🚀${'x'.repeat(4_091)}\u0000end`);
    await store.prisma.sandboxSession.update({
      where: { sandboxId: view.sandbox_id! },
      data: { status: 'restarting' },
    });

    expect((await sup.sweep()).restarts).toEqual([view.sandbox_id]);
    await sup.settled();
    const restarted = (await supervisorEvents(view.sandbox_id!)).at(-1)!;
    expect(restarted.event_type).toBe(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED);
    const logsTail = (restarted.payload['forensics'] as { logs_tail: string }).logs_tail;
    expect(logsTail.endsWith('x\uFFFDend')).toBe(true);
    expect(logsTail.isWellFormed()).toBe(true);
    expect([...logsTail].length).toBeLessThanOrEqual(4_096);
  });

  it("resumes an interrupted restart whose old worker's last beat said it was still working", async () => {
    const { app, sup, provider } = service(config({ heartbeat: { intervalMs: 5_000, graceMs: 1_000 } }));
    const view = await startTask(app);
    await store.prisma.sandboxSession.update({
      where: { sandboxId: view.sandbox_id! },
      data: { status: 'restarting' },
    });
    await beat(view.sandbox_id!, 'working');

    expect((await sup.sweep()).restarts).toEqual([view.sandbox_id]);
    await sup.settled();
    const after = (await request(app).get(`/api/v1/tasks/${view.id}`)).body as TaskView;
    expect(after).toMatchObject({
      status: 'running',
      restarts: [
        expect.objectContaining({ old_sandbox_id: view.sandbox_id, reason: 'resuming an interrupted restart' }),
      ],
    });
    expect(after.sandbox_id).not.toBe(view.sandbox_id);
    expect(provider.spawned).toHaveLength(2);
  });
});
