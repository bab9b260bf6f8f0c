import {
  SUPERVISOR_EVENT_TYPES,
  type SandboxTaskView,
  type TaskCompleteAnswer,
  type TaskView,
} from '@sandbox-relay/contracts';
import type { EventRepository, Store } from '@sandbox-relay/store';
import { testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { SupervisorHarness, testSupervisorConfig } from './spec-support';
import type { SupervisorConfig } from './supervisor';

const logger = testLogger();

// The original system's (OmoiOS) worker against the supervisor: its `agent.heartbeat` cadence, what its
// agent.* events do to the task (status, cost), and its two task callbacks. Real Redis and PostgreSQL,
// the fake provider; the worker's events are written into the event store as ingest writes them.
describe('supervisor and the original worker', () => {
  let store: Store;
  let events: EventRepository;
  const harness = new SupervisorHarness('sup-omoios', logger);
  // The original's 30 s beat against the relay's 15 s, with the grace at a sixth of the beat, scaled
  // down: the ratio to the ladder is the production one.
  const cadence = { intervalMs: 1_000, omoiosIntervalMs: 2_000, graceMs: 500 };
  const config = (overrides: Partial<SupervisorConfig> = {}) =>
    testSupervisorConfig({ heartbeat: cadence, ...overrides });
  const post = (sandboxId: string, eventType: string, data: Record<string, unknown> = {}, source = 'agent') =>
    events.appendMany([
      { entityType: 'sandbox', entityId: sandboxId, eventType, data, dataJson: JSON.stringify(data), source },
    ]);
  const beat = (sandboxId: string, count: number) =>
    post(
      sandboxId,
      'agent.heartbeat',
      { timestamp: new Date().toISOString(), status: 'alive', event_count: count },
      'worker',
    );
  const { supervisorEvents, supervisorEventTypes: types } = harness;
  const startTask = async (app: Express): Promise<TaskView> =>
    (await request(app).post('/api/v1/tasks').send({ title: 'port the login page', prompt: 'port it' }).expect(201))
      .body as TaskView;
  const task = async (app: Express, id: string) =>
    (await request(app).get(`/api/v1/tasks/${id}`).expect(200)).body as TaskView;

  beforeAll(async () => {
    await harness.open();
    ({ store, events } = harness);
  });
  afterAll(() => harness.close());

  it('is not restarted while it beats agent.heartbeat every (scaled) 30 s, and is restarted once it stops', async () => {
    const { app, sup } = harness.service(config());
    const view = await startTask(app);
    const sandboxId = view.sandbox_id!;
    await post(sandboxId, 'agent.started', { task_id: view.id, sdk: 'claude_agent_sdk' }, 'worker');
    let count = 1;
    const beating = setInterval(() => void beat(sandboxId, ++count), cadence.omoiosIntervalMs);
    try {
      // Three of its beats and more: on the relay's 15 s cadence (here 1 s) each 2 s gap would be a
      // missed beat, and the silence between the first two a restart.
      const until = Date.now() + 7_000;
      while (Date.now() < until) {
        const report = await sup.sweep();
        expect(report.actions.filter((action) => action.sandboxId === sandboxId)).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      clearInterval(beating);
    }
    const session = await store.prisma.sandboxSession.findUnique({ where: { sandboxId } });
    expect(session?.status).toBe('running');
    // Its beats are the session's heartbeats (what the sandbox list shows).
    expect(session?.lastHeartbeatAt).not.toBeNull();
    expect(await types(sandboxId)).toEqual([SUPERVISOR_EVENT_TYPES.TASK_STARTED]);

    await waitFor(
      async () => (
        await sup.sweep(),
        await sup.settled(),
        (await types(sandboxId)).includes(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED)
      ),
      'the restart',
      15_000,
    );
    const ladder = await supervisorEvents(sandboxId);
    expect(ladder.map((event) => event.event_type)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED,
      SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
    ]);
    expect(ladder[1]!.payload).toMatchObject({ missed: 1, heartbeat_interval_ms: cadence.omoiosIntervalMs });
    expect((await task(app, view.id)).sandbox_id).not.toBe(sandboxId);
  });

  it('counts its events mid-turn (no beats between them) as signs of life', async () => {
    const { app, sup } = harness.service(config());
    const { sandbox_id: sandboxId } = await startTask(app);
    await beat(sandboxId!, 1);
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      await post(sandboxId!, 'agent.tool_use', { tool: 'Bash', input: { command: 'npm test' } });
      const report = await sup.sweep();
      expect(report.actions.filter((action) => action.sandboxId === sandboxId)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  });

  it('moves the task as the original does: started → running, error → failed, continuous.completed → completed, and no further', async () => {
    const { app, sup } = harness.service(config());
    const view = await startTask(app);
    const sandboxId = view.sandbox_id!;
    const sweepAndRead = async () => (await sup.sweep(), task(app, view.id));

    await post(sandboxId, 'agent.error', { task_id: view.id, error: 'Message processing failed: rate limited' });
    expect(await sweepAndRead()).toMatchObject({
      status: 'failed',
      error_message: 'Message processing failed: rate limited',
    });
    await post(sandboxId, 'agent.started', { task_id: view.id }, 'worker');
    expect(await sweepAndRead()).toMatchObject({ status: 'running', error_message: null });
    // The relay worker's recoverable error (fatal: false) fails nothing; agent.completed waits for the verdict.
    await post(sandboxId, 'agent.error', { message: 'invalid plan', fatal: false });
    await post(sandboxId, 'agent.completed', {
      task_id: view.id,
      success: true,
      cost_usd: 0.5,
      input_tokens: 1000,
      output_tokens: 200,
    });
    expect(await sweepAndRead()).toMatchObject({
      status: 'running',
      cost_usd: 0.5,
      input_tokens: 1000,
      output_tokens: 200,
    });
    await post(sandboxId, 'continuous.completed', {
      task_id: view.id,
      stop_reason: 'max_iterations_reached',
      validation_passed: false,
    });
    expect((await sweepAndRead()).status).toBe('running');
    await post(sandboxId, 'continuous.completed', {
      task_id: view.id,
      stop_reason: 'validation_passed',
      validation_passed: true,
      total_cost_usd: 0.5,
    });
    expect(await sweepAndRead()).toMatchObject({ status: 'completed', cost_usd: 0.5 });
    // A completed task stays completed.
    await post(sandboxId, 'agent.failed', { task_id: view.id, error: 'too late' });
    await post(sandboxId, 'agent.started', { task_id: view.id }, 'worker');
    expect(await sweepAndRead()).toMatchObject({ status: 'completed', error_message: null });
    // An event naming another task moves nothing.
    const other = await startTask(app);
    await post(other.sandbox_id!, 'agent.failed', { task_id: view.id });
    expect((await sweepAndRead()).status).toBe('completed');
    expect((await task(app, other.id)).status).toBe('running');

    expect((await types(view.id)).filter((type) => type.startsWith('TASK_'))).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.TASK_FAILED,
      SUPERVISOR_EVENT_TYPES.TASK_STATUS_CHANGED,
      SUPERVISOR_EVENT_TYPES.TASK_COMPLETED,
    ]);
    const failed = (await supervisorEvents(view.id)).find(
      (event) => event.event_type === SUPERVISOR_EVENT_TYPES.TASK_FAILED,
    )!;
    expect(failed.payload).toMatchObject({
      task_id: view.id,
      sandbox_id: sandboxId,
      from: 'running',
      to: 'failed',
      cause: 'agent.error',
      error_message: 'Message processing failed: rate limited',
    });
    // agent.failed (and agent.error without a message) fail with the original's default message.
    const second = await startTask(app);
    await post(second.sandbox_id!, 'agent.failed', {});
    await sup.sweep();
    expect(await task(app, second.id)).toMatchObject({ status: 'failed', error_message: 'Task execution failed' });
  });

  it("sums each completion's cost once, across two replicas sweeping together and a replayed event", async () => {
    const cfg = config();
    const first = harness.service(cfg);
    const second = harness.service(cfg);
    const view = await startTask(first.app);
    const sandboxId = view.sandbox_id!;
    for (let turn = 1; turn <= 5; turn++) {
      await post(sandboxId, 'agent.completed', {
        task_id: view.id,
        cost_usd: 0.125,
        input_tokens: 100,
        output_tokens: 10,
        cache_read_tokens: 5,
        cache_write_tokens: 1,
      });
    }
    await post(sandboxId, 'agent.completed', { task_id: view.id, usage: { input_tokens: 7, output_tokens: 3 } });
    await Promise.all([first.sup.sweep(), second.sup.sweep(), first.sup.sweep(), second.sup.sweep()]);
    const expected = {
      cost_usd: 0.625,
      input_tokens: 507,
      output_tokens: 53,
      cache_read_tokens: 25,
      cache_write_tokens: 5,
    };
    expect(await task(first.app, view.id)).toMatchObject(expected);
    // Every event read again (the cursor lost, as after a crash between the update and the cursor's move).
    await store.prisma.sandboxSession.update({ where: { sandboxId }, data: { taskEventsCursor: 0 } });
    const replay = await first.sup.sweep();
    expect(replay.taskEvents).toBe(0);
    expect(await task(first.app, view.id)).toMatchObject(expected);
    expect(await store.prisma.taskEventEffect.count({ where: { taskId: view.id } })).toBe(6);
  });

  it("serves GET /api/v1/sandboxes/:id/task in the original's shape and POST …/task-complete, idempotent, with clear errors", async () => {
    const { app } = harness.service(config());
    const view = await startTask(app);
    const sandboxId = view.sandbox_id!;
    const read = (await request(app).get(`/api/v1/sandboxes/${sandboxId}/task`).expect(200)).body as SandboxTaskView;
    expect(read).toMatchObject({
      id: view.id,
      title: 'port the login page',
      description: 'port it',
      status: 'running',
      sandbox_id: sandboxId,
      assigned_agent_id: 'shell-agent',
      phase_id: null,
      task_type: null,
      priority: null,
      ticket_id: null,
      started_at: view.sessions[0]!.created_at,
      completed_at: null,
      cost_usd: 0,
    });
    expect((await request(app).get(`/api/v1/sandboxes/${uniqueId('nobody')}/task`)).status).toBe(404);
    expect((await request(app).get('/api/v1/sandboxes/bad%20id/task')).status).toBe(400);

    const complete = (body: object, id = sandboxId) =>
      request(app).post(`/api/v1/sandboxes/${id}/task-complete`).send(body);
    const done = await complete({
      task_id: view.id,
      success: true,
      result: { output: 'ported', pr_url: 'https://example.test/pr/1' },
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      status: 'accepted',
      task_id: view.id,
      new_status: 'completed',
      unblocked_tasks: [],
      changed: true,
      task: { status: 'completed', result: { output: 'ported' } },
    });
    const again = (await complete({ task_id: view.id, success: false, error_message: 'late' }).expect(200))
      .body as TaskCompleteAnswer;
    expect(again).toMatchObject({ new_status: 'completed', changed: false, task: { error_message: null } });
    expect((await types(view.id)).filter((type) => type === SUPERVISOR_EVENT_TYPES.TASK_COMPLETED)).toHaveLength(1);
    expect(
      ((await request(app).get(`/api/v1/sandboxes/${sandboxId}/task`).expect(200)).body as SandboxTaskView)
        .completed_at,
    ).not.toBeNull();

    const failing = await startTask(app);
    const failed = await complete(
      { task_id: failing.id, success: false, error_message: 'tests still fail' },
      failing.sandbox_id!,
    );
    expect(failed.body).toMatchObject({
      new_status: 'failed',
      changed: true,
      task: { error_message: 'tests still fail' },
    });
    expect(await types(failing.id)).toContain(SUPERVISOR_EVENT_TYPES.TASK_FAILED);

    const refused = await complete({ success: 'yes' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'body.success',
      'body.task_id',
    ]);
    expect((await complete({ task_id: 'task-xyz' })).body.error.details).toEqual([
      { field: 'body.task_id', message: expect.stringContaining('UUID') },
    ]);
    expect((await complete({ task_id: view.id, error_message: 'a\u0000b' })).status).toBe(422);
    expect(
      (
        await request(app)
          .post(`/api/v1/sandboxes/${sandboxId}/task-complete`)
          .set('content-type', 'application/json')
          .send('{"task_id":')
      ).status,
    ).toBe(400);
    const unknown = await complete({ task_id: view.id }, uniqueId('nobody'));
    expect(unknown.status).toBe(404);
    const notHers = await complete({ task_id: failing.id });
    expect(notHers.status).toBe(409);
    expect(notHers.body.error).toMatchObject({
      code: 'task_not_on_sandbox',
      details: [{ field: 'body.task_id', message: expect.any(String) }],
    });
    expect((await task(app, failing.id)).status).toBe('failed');
  });

  it('releases the silent sandbox of a completed task instead of restarting it', async () => {
    const { app, sup, provider } = harness.service(config());
    const view = await startTask(app);
    const sandboxId = view.sandbox_id!;
    await beat(sandboxId, 1);
    await request(app).post(`/api/v1/sandboxes/${sandboxId}/task-complete`).send({ task_id: view.id }).expect(200);
    await waitFor(
      async () => (
        await sup.sweep(),
        await sup.settled(),
        (await types(sandboxId)).includes(SUPERVISOR_EVENT_TYPES.SANDBOX_RELEASED)
      ),
      'the release',
      15_000,
    );
    const after = await task(app, view.id);
    expect(after).toMatchObject({
      status: 'completed',
      sandbox_id: sandboxId,
      restarts: [],
      sessions: [{ sandbox_id: sandboxId, status: 'completed' }],
    });
    expect(provider.spawned).toHaveLength(1);
    expect(provider.terminated.map((t) => t.sandboxId)).toContain(sandboxId);
    expect(await types(sandboxId)).not.toContain(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED);
  });
});
