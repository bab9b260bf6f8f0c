import { SUPERVISOR_EVENT_TYPES } from '@sandbox-relay/contracts';
import { uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { postEvent, startRelay, type RunningRelay } from './support/relay';
import {
  buildWorkerBundle,
  getTask,
  ofType,
  postTask,
  processEnv,
  processGone,
  resume,
  stopTask,
  workerPid,
} from './support/supervision';

// Seed phase 7, by behaviour, against the whole system as `npm start` runs it: the standalone's own
// supervisor, the local provider running the real worker bundle as processes, and the edge (HTTP and
// WebSocket). Intervals are configuration: a 1 s heartbeat with 1 s grace warns after 2 s, marks
// DEGRADED after 3 s and restarts after 4 s (a grace wide enough that a busy machine's late beat is
// not taken for a fault).
describe('seed phase 7: fault tolerance for sandbox agents', () => {
  let relay: RunningRelay;
  const probes: WsProbe[] = [];
  const tasks: string[] = [];
  let frozen: number | undefined;

  const watch = async (...entityIds: string[]) => {
    const probe = await WsProbe.connect(
      `${relay.ws}/api/v1/events/ws/events?entity_ids=${entityIds.join(',')}&since=0`,
    );
    probes.push(probe);
    return probe;
  };
  const start = async (body: object) => {
    const task = await postTask(relay.http, { title: 'phase 7', worker_env: { POLL_INTERVAL_MS: '100' }, ...body });
    tasks.push(task.id);
    return task;
  };

  beforeAll(async () => {
    buildWorkerBundle();
    relay = await startRelay({
      QUEUE_PREFIX: uniqueId('phase7'),
      SUPERVISOR_HEARTBEAT_INTERVAL_MS: '1000',
      SUPERVISOR_HEARTBEAT_GRACE_MS: '1000',
      // A worker beats as it starts; a replacement slow to start on a loaded machine is not restarted too.
      SUPERVISOR_STARTUP_GRACE_MS: '5000',
      SUPERVISOR_SWEEP_INTERVAL_MS: '100',
      SUPERVISOR_TERMINATE_GRACE_MS: '1000',
      SUPERVISOR_MAX_RESTARTS: '2',
      SUPERVISOR_RESTART_BACKOFF_MS: '50',
      SUPERVISOR_RESTART_BACKOFF_MAX_MS: '200',
    });
  });

  afterAll(async () => {
    resume(frozen);
    await Promise.all(probes.map((probe) => probe.close()));
    for (const id of tasks) await stopTask(relay.http, id);
    await relay.stop();
  });

  it("accepts a heartbeat (200) and moves the supervisor's last-seen time of the sandbox", async () => {
    const task = await start({ plan: [{ say: 'ready' }] });
    const sandboxId = task.sandbox_id!;
    const probe = await watch(sandboxId);
    await waitFor(() => ofType(probe.frames, 'agent.waiting').length > 0, 'the worker to be idle', 20_000);
    const posted = await postEvent(relay.http, sandboxId, {
      event_type: 'heartbeat',
      event_data: { status: 'running', timestamp: new Date().toISOString(), current_action: 'processing_task' },
    });
    expect(posted.status).toBe(200);
    await waitFor(
      async () => {
        const seen = (await getTask(relay.http, task.id)).sessions[0]!.last_heartbeat_at;
        return seen !== null && Date.parse(seen) >= Date.parse(posted.body.timestamp);
      },
      "the session's last heartbeat to reach the posted one",
      10_000,
    );
  });

  it("freezes a worker (SIGSTOP): warning, DEGRADED, restart over the WebSocket; the task moves to a new sandbox whose worker reports and starts from the event store's trajectory", async () => {
    const task = await start({
      prompt: 'say hello, then wait',
      plan: [{ say: 'first-run-marker' }, { run: 'echo first-run-command' }],
    });
    const oldId = task.sandbox_id!;
    const probe = await watch(task.id, oldId);
    const oldPid = await workerPid(probe.frames, oldId);
    await waitFor(
      () => ofType(probe.frames, 'agent.waiting', oldId).length > 0,
      'the first run to finish its plan',
      20_000,
    );

    process.kill(oldPid, 'SIGSTOP');
    frozen = oldPid;
    const restarted = await waitFor(
      () => ofType(probe.frames, SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED, oldId)[0],
      'AGENT_RESTARTED',
      60_000,
    );
    frozen = undefined;
    const ladder = probe.frames
      .filter(
        (frame) =>
          frame.entity_id === oldId &&
          frame.event_type !== 'heartbeat' &&
          !String(frame.event_type).startsWith('agent.'),
      )
      .map((frame) => frame.event_type);
    expect(ladder).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED,
      SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
    ]);
    const newId = String(restarted.payload!.new_sandbox_id);
    expect(restarted.payload).toMatchObject({
      task_id: task.id,
      old_sandbox_id: oldId,
      reason: 'missed 3 heartbeats',
      forced: true,
    });
    // The frozen worker was forced after the grace period; the task points at the replacement.
    await waitFor(() => processGone(oldPid), 'the frozen worker to be gone', 10_000);
    const view = await getTask(relay.http, task.id);
    expect(view.sandbox_id).toBe(newId);
    expect(view.sessions.map((s) => [s.sandbox_id, s.status])).toEqual([
      [newId, 'running'],
      [oldId, 'replaced'],
    ]);
    // The new worker reports, and started with the trajectory built from the old sandbox's events.
    const fresh = await watch(newId);
    // On failure, what the replacement did instead: its status and output, the task, what its stream carried.
    const explained = async (error: Error): Promise<never> => {
      const provider = relay.standalone.provider;
      const [status, logs] = await Promise.all([
        provider.status(newId).catch(String),
        provider.logs(newId).catch(String),
      ]);
      const seen = fresh.frames.map((frame) => `${frame.id} ${frame.event_type}`).join(', ');
      throw new Error(
        `${error.message}; replacement ${status}, output: ${logs.slice(-3_000)}; task: ${JSON.stringify(await getTask(relay.http, task.id))}; frames: ${seen}`,
      );
    };
    const newPid = await workerPid(fresh.frames, newId).catch(explained);
    expect(ofType(fresh.frames, 'agent.started')[0]!.payload).toMatchObject({
      task_id: task.id,
      sandbox_id: newId,
      resumed: true,
    });
    const context =
      (
        await Promise.resolve()
          .then(() => processEnv(newPid))
          .catch(explained)
      ).TASK_CONTEXT ?? '';
    expect(context).toContain(`You are resuming task ${task.id}`);
    expect(context).toContain('say hello, then wait');
    expect(context).toContain('first-run-marker');
    expect(context).toContain('echo first-run-command');
    await waitFor(() => ofType(fresh.frames, 'heartbeat').length >= 2, "the new worker's heartbeats", 10_000);
  }, 90_000);

  it('quarantines a task whose worker keeps dying once it exceeds its restart limit', async () => {
    // The plan kills its own worker: every replacement runs it again and dies the same way.
    const task = await start({ plan: [{ say: 'about to die' }, { run: 'kill -9 $PPID' }] });
    const probe = await watch(task.id);
    const quarantined = await waitFor(
      () => ofType(probe.frames, SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED)[0],
      'TASK_QUARANTINED',
      80_000,
    );
    expect(quarantined.payload).toMatchObject({ task_id: task.id, restarts_in_window: 2 });
    expect(ofType(probe.frames, SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED)).toHaveLength(2);
    const view = await getTask(relay.http, task.id);
    expect(view.status).toBe('quarantined');
    expect(view.restarts).toHaveLength(2);
    expect(view.sessions.map((s) => s.status)).toEqual(['quarantined', 'replaced', 'replaced']);
    // No more restarts afterwards.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await getTask(relay.http, task.id)).sessions).toHaveLength(3);
  }, 120_000);
});
