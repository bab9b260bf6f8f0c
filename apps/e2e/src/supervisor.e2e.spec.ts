import { CreateTaskBody, SUPERVISOR_EVENT_TYPES } from '@sandbox-relay/contracts';
import { closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { LocalProcessProvider, workerBundlePath } from '@sandbox-relay/sandbox';
import { createSupervisorService, type SupervisorConfig, type SupervisorService } from '@sandbox-relay/supervisor';
import { EventRepository, createStore, type Store } from '@sandbox-relay/store';
import { testInfra, testLogger, uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { killSpawned, spawnApp } from './support/process';
import { startRelay, type RunningRelay } from './support/relay';
import {
  buildWorkerBundle,
  getTask,
  ofType,
  postTask,
  processGone,
  resume,
  stopTask,
  workerPid,
} from './support/supervision';

const logger = testLogger();

// Supervisor replicas in this process next to a running relay (ingest, gateway, message queue), sharing
// one local provider: the workers are real processes of the bundle, reporting through the relay's edge.
// Each replica group has its own key prefix, so the relay's own supervisor never touches these tasks.
describe('the supervisor: replicas, restarts of the supervisor, idle stops, and its process', () => {
  let relay: RunningRelay;
  let store: Store;
  let redis: Redis;
  let events: EventRepository;
  let provider: LocalProcessProvider;
  const services: SupervisorService[] = [];
  const probes: WsProbe[] = [];
  const frozen: number[] = [];

  const config = (overrides: Partial<SupervisorConfig> = {}): SupervisorConfig => ({
    provider: 'local',
    keyPrefix: uniqueId('sup-e2e'),
    heartbeat: { intervalMs: 1_000, graceMs: 1_000 },
    sweepIntervalMs: 100,
    restart: { maxRestarts: 3, windowMs: 60_000, baseBackoffMs: 50, maxBackoffMs: 200 },
    terminateGraceMs: 1_000,
    idleAfterMs: 0,
    lockTtlMs: 30_000,
    ...overrides,
  });
  const replica = (cfg: SupervisorConfig) => {
    const svc = createSupervisorService({
      store,
      publisherRedis: redis,
      provider,
      logger,
      config: cfg,
      relayUrl: () => relay.http,
    });
    services.push(svc);
    svc.start();
    return svc;
  };
  const task = (svc: SupervisorService, body: object) =>
    svc.supervisor.startTask(
      CreateTaskBody.parse({ title: 'supervised', worker_env: { POLL_INTERVAL_MS: '100' }, ...body }),
    );
  const watch = async (...entityIds: string[]) => {
    const probe = await WsProbe.connect(
      `${relay.ws}/api/v1/events/ws/events?entity_ids=${entityIds.join(',')}&since=0`,
    );
    probes.push(probe);
    return probe;
  };
  const stored = async (sandboxId: string, type: string) =>
    (await events.list({ entityIds: [sandboxId], eventTypes: [type], limit: 100 })).length;
  const freeze = (pid: number) => {
    process.kill(pid, 'SIGSTOP');
    frozen.push(pid);
  };

  beforeAll(async () => {
    buildWorkerBundle();
    relay = await startRelay({ QUEUE_PREFIX: uniqueId('sup-e2e-relay') });
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    redis = createRedisClient(testInfra().redisUrl, { name: 'sup-e2e', role: 'publisher', logger });
    events = new EventRepository(store.pool);
    provider = new LocalProcessProvider({
      workerScript: workerBundlePath(),
      baseEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    await waitFor(() => redis.status === 'ready', 'redis');
  });

  afterAll(async () => {
    frozen.forEach(resume);
    await Promise.all(probes.map((probe) => probe.close()));
    await Promise.all(services.map((svc) => svc.close()));
    const live = await store.prisma.sandboxSession.findMany({
      where: { status: { in: ['running', 'degraded', 'restarting'] } },
      select: { sandboxId: true },
    });
    await Promise.all(live.map((session) => provider.terminate(session.sandboxId, { graceMs: 500 })));
    await killSpawned();
    await closeRedis(redis);
    await store.close();
    await relay.stop();
  });

  it('two replicas sweeping the same frozen sandbox: one warning, one DEGRADED, one restart', async () => {
    const shared = config();
    const a = replica(shared);
    const b = replica(shared);
    const view = await task(a, { plan: [{ say: 'two replicas' }] });
    const oldId = view.sandbox_id!;
    const probe = await watch(view.id, oldId);
    const pid = await workerPid(probe.frames, oldId);
    await waitFor(() => ofType(probe.frames, 'agent.waiting', oldId).length > 0, 'the plan to finish', 20_000);
    freeze(pid);
    const restarted = await waitFor(
      () => ofType(probe.frames, SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED, oldId)[0],
      'the restart',
      60_000,
    );
    // Let both replicas sweep for a while longer: nothing is repeated.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await Promise.all([a.supervisor.settled(), b.supervisor.settled()]);
    expect(await stored(oldId, SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED)).toBe(1);
    expect(await stored(oldId, SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED)).toBe(1);
    expect(await stored(oldId, SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED)).toBe(1);
    expect(await store.prisma.restartEvent.count({ where: { taskId: view.id } })).toBe(1);
    const after = await a.supervisor.getTask(view.id);
    expect(after.sessions.map((s) => [s.sandbox_id, s.status])).toEqual([
      [String(restarted.payload!.new_sandbox_id), 'running'],
      [oldId, 'replaced'],
    ]);
    await waitFor(() => processGone(pid), 'the frozen worker to be gone', 10_000);
  }, 90_000);

  it('a supervisor replaced mid-ladder continues where it stood: DEGRADED and the restart, no second warning', async () => {
    const shared = config();
    const first = replica(shared);
    const view = await task(first, { plan: [{ say: 'mid-ladder' }] });
    const oldId = view.sandbox_id!;
    const probe = await watch(oldId);
    const pid = await workerPid(probe.frames, oldId);
    await waitFor(() => ofType(probe.frames, 'agent.waiting').length > 0, 'the plan to finish', 20_000);
    freeze(pid);
    await waitFor(() => ofType(probe.frames, SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED)[0], 'the warning', 20_000);
    await first.close();
    const [lastBefore] = await events.list({ entityIds: [oldId], order: 'desc', limit: 1 });
    const second = replica(shared);
    await waitFor(
      () => ofType(probe.frames, SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED)[0],
      'the restart by the new supervisor',
      60_000,
    );
    await second.supervisor.settled();
    const ladder = probe.frames.filter(
      (frame) => frame.event_type !== 'heartbeat' && !String(frame.event_type).startsWith('agent.'),
    );
    expect(ladder.map((frame) => frame.event_type)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED,
      SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
    ]);
    // Both later steps were taken after the first supervisor had stopped.
    expect(BigInt(ladder[2]!.id!)).toBeGreaterThan(BigInt(lastBefore!.id));
    expect((await getTaskRow(view.id))?.status).toBe('running');
  }, 90_000);

  it('stops an idle sandbox to save cost, but never one whose agent is working', async () => {
    const svc = replica(config({ idleAfterMs: 1_500 }));
    const startedAt = Date.now();
    const idle = await task(svc, { plan: [{ say: 'done, now idle' }] });
    const busy = await task(svc, { plan: [{ say: 'working' }, { run: 'sleep 30' }] });
    const probe = await watch(idle.sandbox_id!, busy.sandbox_id!);
    const idlePid = await workerPid(probe.frames, idle.sandbox_id!);
    const busyPid = await workerPid(probe.frames, busy.sandbox_id!);
    const stopped = await waitFor(
      () => ofType(probe.frames, SUPERVISOR_EVENT_TYPES.SANDBOX_IDLE_STOPPED, idle.sandbox_id!)[0],
      'the idle stop',
      20_000,
    );
    expect(stopped.payload).toMatchObject({ task_id: idle.id, sandbox_id: idle.sandbox_id });
    expect(Number(stopped.payload!.idle_for_ms)).toBeGreaterThanOrEqual(1_500);
    await waitFor(() => processGone(idlePid), 'the idle worker to be gone', 10_000);
    // The busy agent has reported nothing but heartbeats for well over the idle limit, and keeps running.
    await waitFor(() => Date.now() - startedAt > 4_000, 'time to pass', 10_000);
    await svc.supervisor.sweep();
    expect(ofType(probe.frames, SUPERVISOR_EVENT_TYPES.SANDBOX_IDLE_STOPPED, busy.sandbox_id!)).toEqual([]);
    expect(processGone(busyPid)).toBe(false);
    expect((await svc.supervisor.getTask(idle.id)).status).toBe('stopped');
    expect((await svc.supervisor.getTask(busy.id)).sessions[0]!.status).toBe('running');
    await svc.supervisor.stopTask(busy.id, 'test over');
    await waitFor(() => processGone(busyPid), 'the busy worker to be stopped', 10_000);
  }, 60_000);

  it('runs as its own process: health, the task edge, refused bad config, and a clean SIGTERM', async () => {
    await expect(spawnApp('supervisor', { SUPERVISOR_HEARTBEAT_INTERVAL_MS: 'soon', PORT: 'x' })).rejects.toThrow(
      /exited with 1 before listening:[\s\S]*invalid configuration:[\s\S]*PORT[\s\S]*SUPERVISOR_HEARTBEAT_INTERVAL_MS/,
    );
    await expect(spawnApp('supervisor', { SANDBOX_PROVIDER: 'daytona' })).rejects.toThrow(
      /invalid configuration:[\s\S]*DAYTONA_API_KEY: is required when SANDBOX_PROVIDER=daytona/,
    );

    const service = await spawnApp('supervisor', {
      QUEUE_PREFIX: uniqueId('sup-proc'),
      WORKER_RELAY_URL: relay.http,
      SUPERVISOR_SWEEP_INTERVAL_MS: '200',
    });
    expect((await fetch(`${service.http}/healthz`)).status).toBe(200);
    await waitFor(async () => (await fetch(`${service.http}/readyz`)).status === 200, 'readiness', 10_000);
    const bad = await fetch(`${service.http}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"plan":[]}',
    });
    expect(bad.status).toBe(422);
    // A real worker started by the process reports to the relay; stopping the task stops it.
    const view = await postTask(service.http, {
      title: 'from the process',
      plan: [{ say: 'hello from a supervised worker' }],
    });
    const probe = await watch(view.sandbox_id!);
    const pid = await workerPid(probe.frames, view.sandbox_id!);
    expect(await stopTask(service.http, view.id)).toBe(200);
    expect((await getTask(service.http, view.id)).status).toBe('stopped');
    await waitFor(() => processGone(pid), 'the stopped worker to be gone', 10_000);

    service.child.kill('SIGTERM');
    const { code } = await service.exited;
    expect(code).toBe(143);
    expect(service.logs.some((line) => line.includes('"clean":true') && line.includes('shutdown complete'))).toBe(true);
  }, 90_000);

  const getTaskRow = (id: string) => store.prisma.task.findUnique({ where: { id } });
});
