import { SUPERVISOR_EVENT_TYPES, type CreateTaskBody, type TaskView } from '@sandbox-relay/contracts';
import type { Redis } from '@sandbox-relay/bus';
import type { SandboxSpec, SpawnedSandbox } from '@sandbox-relay/sandbox';
import { FakeSandboxProvider } from '@sandbox-relay/sandbox/testing';
import type { Store } from '@sandbox-relay/store';
import { testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import request from 'supertest';
import type { SupervisorConfig } from './supervisor';
import { SupervisorHarness, testSupervisorConfig } from './spec-support';
import { createSupervisorService } from './supervisor.service';

const logger = testLogger();

/** A provider whose spawns hang until the test lets them through: a supervisor stuck (or dead) mid-spawn. */
class HangingProvider extends FakeSandboxProvider {
  readonly asked: string[] = [];
  private readonly gates: Array<() => void> = [];

  override async spawn(spec: SandboxSpec): Promise<SpawnedSandbox> {
    this.asked.push(spec.sandboxId!);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return super.spawn(spec);
  }

  letThrough(): void {
    for (const gate of this.gates.splice(0)) gate();
  }
}

// Spawning with the session written first, and the task edge's ticket: the supervisor against the real
// Redis and PostgreSQL with fake providers whose calls are recorded.
describe('supervisor: spawns and tickets', () => {
  let store: Store;
  let redis: Redis;
  const harness = new SupervisorHarness('sup-spawn-test', logger);
  const config = (overrides: Partial<SupervisorConfig> = {}) =>
    testSupervisorConfig({ heartbeat: { intervalMs: 60_000, graceMs: 1_000 }, ...overrides }, 'sup-spawn');
  const service = (cfg: SupervisorConfig, provider: FakeSandboxProvider = new FakeSandboxProvider(uniqueId('fake'))) =>
    harness.service(cfg, provider);
  const { supervisorEvents } = harness;
  const body = (title: string): CreateTaskBody => ({
    title,
    agent: 'shell',
    agent_id: 'shell-agent',
    plan: [{ run: 'npm test' }],
  });

  beforeAll(async () => {
    await harness.open();
    ({ store, redis } = harness);
  });
  afterAll(() => harness.close());

  it('writes the session `starting` before the provider is asked, under a lock the sweep respects', async () => {
    const hanging = new HangingProvider(uniqueId('hang'));
    const { sup } = service(config(), hanging);
    const title = uniqueId('mid-spawn');
    const started = sup.startTask(body(title));
    const sandboxId = await waitFor(() => hanging.asked[0], 'the spawn to be asked for', 10_000);
    const row = await store.prisma.sandboxSession.findUnique({ where: { sandboxId }, include: { task: true } });
    expect(row).toMatchObject({ status: 'starting', task: { title, status: 'starting', sandboxId } });
    // The spawn is under way (its lock is held): the sweep sees the session and leaves it alone.
    const report = await sup.sweep();
    expect(report.restarts).not.toContain(sandboxId);
    hanging.letThrough();
    const view = await started;
    expect(view).toMatchObject({
      status: 'running',
      sandbox_id: sandboxId,
      sessions: [{ sandbox_id: sandboxId, status: 'running' }],
    });
    expect((await supervisorEvents(sandboxId)).map((event) => event.event_type)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
    ]);
  });

  it('a spawn that never reported (its supervisor died mid-spawn) is restarted by another replica once the lock expires', async () => {
    const cfg = config({ lockTtlMs: 1_000 });
    const hanging = new HangingProvider(uniqueId('hang'));
    const dead = service(cfg, hanging);
    const survivor = service(cfg);
    const started = dead.sup.startTask(body(uniqueId('crashed-spawn')));
    const oldId = await waitFor(() => hanging.asked[0], 'the spawn to be asked for', 10_000);
    const taskId = (await store.prisma.sandboxSession.findUniqueOrThrow({ where: { sandboxId: oldId } })).taskId!;

    // The lock outlives nothing: past its TTL the survivor's sweep restarts the task per the intensity policy.
    await waitFor(
      async () => (await survivor.sup.sweep()).restarts.includes(oldId),
      'the survivor to take the stuck spawn',
      10_000,
    );
    await survivor.sup.settled();
    const view = (await request(survivor.app).get(`/api/v1/tasks/${taskId}`).expect(200)).body as TaskView;
    expect(view.status).toBe('running');
    expect(view.sandbox_id).not.toBe(oldId);
    expect(view.sessions.map((s) => [s.sandbox_id, s.status])).toEqual([
      [view.sandbox_id, 'running'],
      [oldId, 'replaced'],
    ]);
    expect(view.restarts).toEqual([
      expect.objectContaining({
        old_sandbox_id: oldId,
        new_sandbox_id: view.sandbox_id,
        reason: 'the spawn never reported',
      }),
    ]);
    expect(survivor.provider.terminated.map((t) => t.sandboxId)).toContain(oldId); // best effort: whatever the dead spawn left
    expect(survivor.provider.spawned.map((s) => s.sandboxId)).toEqual([view.sandbox_id]);
    const restarted = (await supervisorEvents(oldId)).at(-1)!;
    expect(restarted).toMatchObject({
      event_type: SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
      payload: { task_id: taskId, new_sandbox_id: view.sandbox_id, attempt: 1 },
    });

    // The hung spawn finally answers: its session was given up, so the surplus sandbox is terminated
    // and the task stays on the replacement.
    hanging.letThrough();
    const late = await started;
    expect(late).toMatchObject({ status: 'running', sandbox_id: view.sandbox_id });
    expect(hanging.terminated.map((t) => t.sandboxId)).toEqual([oldId]);
    expect((await supervisorEvents(oldId)).map((e) => e.event_type)).not.toContain(SUPERVISOR_EVENT_TYPES.TASK_STARTED);
  });

  it('a replacement that never reported is given up (failed) and the interrupted restart resumed with a fresh one', async () => {
    const cfg = config({ lockTtlMs: 1_000 });
    const { sup, app } = service(cfg);
    const view = (
      await request(app)
        .post('/api/v1/tasks')
        .send({ title: uniqueId('replacement-lost'), plan: [{ run: 'x' }] })
        .expect(201)
    ).body as TaskView;
    // What a replica dying mid-replacement leaves: the old session `restarting`, the new one `starting`, no locks.
    const lost = uniqueId('local-lost');
    await store.prisma.$transaction([
      store.prisma.sandboxSession.update({ where: { sandboxId: view.sandbox_id! }, data: { status: 'restarting' } }),
      store.prisma.sandboxSession.create({
        data: { sandboxId: lost, taskId: view.id, agentId: 'shell-agent', status: 'starting', restartCount: 1 },
      }),
    ]);
    await sup.sweep();
    await sup.settled();
    const after = (await request(app).get(`/api/v1/tasks/${view.id}`).expect(200)).body as TaskView;
    expect(Object.fromEntries(after.sessions.map((s) => [s.sandbox_id, s.status]))).toEqual({
      [view.sandbox_id!]: 'replaced',
      [lost]: 'failed',
      [after.sandbox_id!]: 'running',
    });
    expect(after.sandbox_id).not.toBe(lost);
    expect(after.restarts).toHaveLength(1);
  });

  // A restart completing in the middle of a stop: right after the stop read the task, or right after it
  // read the session's status (so the stop locks a sandbox that was just replaced).
  it.each([
    ['the task', 'task'],
    ['the session status', 'sandboxSession'],
  ] as const)(
    'a stop whose task a restart moved to a new sandbox right after it read %s follows the task there',
    async (_what, model) => {
      const provider = new FakeSandboxProvider(uniqueId('fake'));
      const cfg = config();
      const { app } = service(cfg, provider);
      const view = (
        await request(app)
          .post('/api/v1/tasks')
          .send({ title: uniqueId('stop-race'), plan: [{ run: 'x' }] })
          .expect(201)
      ).body as TaskView;
      const oldId = view.sandbox_id!;
      const newId = uniqueId('local-moved');
      let raced = false;
      // What the restart's `replace` writes, done from inside the stop's read.
      const restartCompletes = async () => {
        raced = true;
        await store.prisma.$transaction([
          store.prisma.sandboxSession.create({
            data: { sandboxId: newId, taskId: view.id, agentId: 'shell-agent', status: 'running', restartCount: 1 },
          }),
          store.prisma.sandboxSession.update({ where: { sandboxId: oldId }, data: { status: 'replaced' } }),
          store.prisma.task.update({ where: { id: view.id }, data: { sandboxId: newId } }),
        ]);
      };
      const findUnique = async ({ args, query }: { args: unknown; query: (args: unknown) => Promise<unknown> }) => {
        const found = await query(args);
        if (!raced) await restartCompletes();
        return found;
      };
      // (A computed model key is more than Prisma's extension types can check.)
      const racing = store.prisma.$extends({
        query: { [model]: { findUnique } } as never,
      }) as unknown as Store['prisma'];
      const stopping = createSupervisorService({
        store: { ...store, prisma: racing },
        publisherRedis: redis,
        provider,
        logger,
        config: cfg,
        relayUrl: () => 'http://127.0.0.1:18000',
      });
      try {
        const stopped = await stopping.supervisor.stopTask(view.id, 'no longer needed');
        expect(raced).toBe(true);
        expect(stopped).toMatchObject({ status: 'stopped', sandbox_id: newId });
        expect(Object.fromEntries(stopped.sessions.map((s) => [s.sandbox_id, s.status]))).toEqual({
          [oldId]: 'replaced',
          [newId]: 'stopped',
        });
        expect(provider.terminated.map((t) => t.sandboxId)).toEqual([newId]);
        expect((await supervisorEvents(view.id)).at(-1)).toMatchObject({
          event_type: SUPERVISOR_EVENT_TYPES.TASK_STOPPED,
          payload: { sandbox_id: newId },
        });
      } finally {
        await stopping.close();
      }
    },
  );

  it("does not give up a replacement whose spawn reported between the sweep's read and its action (a stale view)", async () => {
    const provider = new FakeSandboxProvider(uniqueId('fake'));
    const cfg = config();
    const { app } = service(cfg, provider);
    const view = (
      await request(app)
        .post('/api/v1/tasks')
        .send({ title: uniqueId('stale-sweep'), plan: [{ run: 'x' }] })
        .expect(201)
    ).body as TaskView;
    const newId = uniqueId('local-replacement');
    // A replacement being spawned: its session `starting`, not yet the task's sandbox.
    await store.prisma.sandboxSession.create({
      data: { sandboxId: newId, taskId: view.id, agentId: 'shell-agent', status: 'starting', restartCount: 1 },
    });
    let reported = false;
    // The spawn reports (markRunning, then its lock is released) right after the sweep read the sessions.
    const pool = new Proxy(store.pool, {
      get(target, key, receiver) {
        if (key !== 'query') return Reflect.get(target, key, receiver);
        return async (...args: Parameters<typeof target.query>) => {
          const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
          if (!reported && typeof args[0] === 'string' && args[0].includes('FROM sandbox_sessions s')) {
            reported = true;
            await store.prisma.$transaction([
              store.prisma.sandboxSession.update({ where: { sandboxId: newId }, data: { status: 'running' } }),
              store.prisma.sandboxSession.update({
                where: { sandboxId: view.sandbox_id! },
                data: { status: 'replaced' },
              }),
              store.prisma.task.update({ where: { id: view.id }, data: { sandboxId: newId } }),
            ]);
          }
          return result;
        };
      },
    });
    const sweeping = createSupervisorService({
      store: { ...store, pool },
      publisherRedis: redis,
      provider,
      logger,
      config: cfg,
      relayUrl: () => 'http://127.0.0.1:18000',
    });
    try {
      await sweeping.supervisor.sweep();
      await sweeping.supervisor.settled();
      expect(reported).toBe(true);
      expect(provider.terminated.map((t) => t.sandboxId)).not.toContain(newId);
      expect((await store.prisma.sandboxSession.findUniqueOrThrow({ where: { sandboxId: newId } })).status).toBe(
        'running',
      );
    } finally {
      await sweeping.close();
    }
  });

  it('takes a ticket: stored on the task, named by TASK_STARTED, read back; a bad ticket id is refused', async () => {
    const { app } = service(config());
    const ticket = uniqueId('PROJ').replace(/[^A-Za-z0-9._-]/g, '-');
    const res = await request(app)
      .post('/api/v1/tasks')
      .send({ title: 'Add password reset', description: 'By e-mail link.', plan: [{ run: 'x' }], ticket_id: ticket });
    expect(res.status).toBe(201);
    const view = res.body as TaskView;
    expect(view.ticket_id).toBe(ticket);
    expect((await request(app).get(`/api/v1/tasks/${view.id}`).expect(200)).body).toEqual(view);
    expect(await store.prisma.task.findUniqueOrThrow({ where: { id: view.id } })).toMatchObject({
      ticketId: ticket,
      title: 'Add password reset',
      description: 'By e-mail link.',
    });
    const [startedEvent] = await supervisorEvents(view.sandbox_id!);
    expect(startedEvent).toMatchObject({
      event_type: SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      payload: { ticket_id: ticket },
    });

    const bad = await request(app)
      .post('/api/v1/tasks')
      .send({ title: 't', plan: [{ run: 'x' }], ticket_id: 'no spaces/slashes' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual([expect.objectContaining({ field: 'body.ticket_id' })]);
    const without = (
      await request(app)
        .post('/api/v1/tasks')
        .send({ title: 'no ticket', plan: [{ run: 'x' }] })
        .expect(201)
    ).body as TaskView;
    expect(without.ticket_id).toBeNull();
  });
});
