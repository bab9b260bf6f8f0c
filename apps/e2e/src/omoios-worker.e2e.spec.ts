import path from 'node:path';
import type { TokenIssuer } from '@sandbox-relay/auth';
import { SUPERVISOR_EVENT_TYPES, type EventEnvelope, type TaskView } from '@sandbox-relay/contracts';
import type { Standalone } from '@sandbox-relay/standalone';
import { uniqueId, waitFor } from '@sandbox-relay/testing';
import { PYTHON_DIR, omoiosPython } from './support/python';
import { startRelayWithAuth } from './support/relay';
import { resume } from './support/supervision';

// An original-style (OmoiOS) worker as the sandbox's process: the local provider starts it through
// WORKER_BUNDLE, the supervisor hands it CALLBACK_URL (with its token), SANDBOX_ID, TASK_ID and
// AGENT_ID, and it talks to the relay's edge as the original does, credentials only in the URL. Time is
// scaled 1:15 (the relay's own 15 s beat is 1 s, the original's 30 s beat is 2 s, the grace 0.5 s).
describe('an unchanged original-style worker supervised by the relay (auth on)', () => {
  let relay: Standalone;
  let operator: string;
  let task: TaskView;
  const frozen: number[] = [];

  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${relay.url}${url}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const eventsOf = async (sandboxId: string): Promise<EventEnvelope[]> =>
    (await call('GET', `/api/v1/sandboxes/${sandboxId}/events?limit=1000`)).body.events;
  const ofType = (events: EventEnvelope[], type: string) => events.filter((event) => event.event_type === type);
  const waitForEvent = (
    sandboxId: string,
    type: string,
    match: (event: EventEnvelope) => boolean = () => true,
    timeoutMs = 20_000,
  ) => waitFor(async () => ofType(await eventsOf(sandboxId), type).find(match), `${type} on ${sandboxId}`, timeoutMs);

  beforeAll(async () => {
    const python = omoiosPython();
    let issuer: TokenIssuer;
    ({ relay, issuer } = await startRelayWithAuth({
      QUEUE_PREFIX: uniqueId('omo-worker'),
      WORKER_BUNDLE: path.join(PYTHON_DIR, 'original-worker.cjs'),
      SUPERVISOR_HEARTBEAT_INTERVAL_MS: '1000',
      SUPERVISOR_OMOIOS_HEARTBEAT_INTERVAL_MS: '2000',
      SUPERVISOR_HEARTBEAT_GRACE_MS: '500',
      SUPERVISOR_STARTUP_GRACE_MS: '4000',
      SUPERVISOR_SWEEP_INTERVAL_MS: '100',
      SUPERVISOR_RESTART_BACKOFF_MS: '50',
      SUPERVISOR_RESTART_BACKOFF_MAX_MS: '200',
      SUPERVISOR_TERMINATE_GRACE_MS: '1000',
      SUPERVISOR_LOCK_TTL_MS: '30000',
    }));
    operator = await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'e2e', ttlSeconds: 600 });
    const created = await call('POST', '/api/v1/tasks', {
      title: 'original worker',
      prompt: 'fix the login bug',
      agent_id: 'omoios-agent',
      worker_env: { ORIGINAL_WORKER_PYTHON: python, ORIGINAL_HEARTBEAT_S: '2' },
    });
    expect(created.status).toBe(201);
    task = created.body;
  });
  afterAll(async () => {
    frozen.forEach(resume);
    await relay.close();
  });

  it('reports through its credentialed CALLBACK_URL and, beating agent.heartbeat on its own cadence, is never warned or restarted', async () => {
    const sandbox = task.sandbox_id!;
    const started = await waitForEvent(sandbox, 'agent.started');
    expect(started.payload).toMatchObject({ task_id: task.id, agent_id: 'omoios-agent', sandbox_id: sandbox });
    await waitFor(
      async () => (await call('GET', `/api/v1/tasks/${task.id}`)).body.status === 'running',
      'the task to run',
    );

    await new Promise((resolve) => setTimeout(resolve, 9_000));
    const events = await eventsOf(sandbox);
    expect(ofType(events, 'agent.heartbeat').length).toBeGreaterThanOrEqual(4);
    for (const type of [
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED,
      SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
    ]) {
      expect(ofType(events, type)).toEqual([]);
    }
    expect((await call('GET', `/api/v1/tasks/${task.id}`)).body).toMatchObject({
      status: 'running',
      sandbox_id: sandbox,
    });
  });

  it('takes a guardian_nudge posted as the original guardian posts it, and drains it as the original poller does', async () => {
    const sandbox = task.sandbox_id!;
    const queued = await call('POST', `/api/v1/sandboxes/${sandbox}/messages`, {
      content: 'You have looped on the same grep; read the failing test instead.',
      message_type: 'guardian_nudge',
    });
    expect(queued.status).toBe(200);
    const injected = await waitForEvent(
      sandbox,
      'agent.message_injected',
      (event) => event.payload['message_id'] === queued.body.message_id,
    );
    expect(injected.payload).toMatchObject({
      message_type: 'guardian_nudge',
      content: 'You have looped on the same grep; read the failing test instead.',
    });
  });

  it('is restarted once it stops beating (hung), and the replacement runs the same task', async () => {
    const sandbox = task.sandbox_id!;
    const pid = Number((await waitForEvent(sandbox, 'agent.started')).payload['pid']);
    process.kill(pid, 'SIGSTOP');
    frozen.push(pid);
    const restarted = await waitForEvent(sandbox, SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED, () => true, 30_000);
    const replacement = String(restarted.payload['new_sandbox_id']);
    expect(replacement).not.toBe(sandbox);
    const missed = ofType(await eventsOf(sandbox), SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED);
    expect(missed[0]!.payload).toMatchObject({ heartbeat_interval_ms: 2000 });
    await waitForEvent(replacement, 'agent.started', (event) => event.payload['task_id'] === task.id);
    expect((await call('GET', `/api/v1/tasks/${task.id}`)).body).toMatchObject({ sandbox_id: replacement });
  });
});
