import { uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { OmoiosBusSubscriber, publishOnOmoiosBus } from './support/omoios-bus';
import { killSpawned, spawnApp, type RelayProcess } from './support/process';
import { omoiosPython, runPythonJson } from './support/python';

// The original system's (OmoiOS) clients against the relay as deployed: ingest, gateway and
// message-queue each their own process (their real main.ts), talking only through Redis and Postgres.
// Its services' bus (Python), its worker's HTTP (Python httpx) and its frontend's WebSocket protocol
// all work unchanged across the service boundaries.
describe('OmoiOS clients against the per-service deployment', () => {
  let ingest: RelayProcess;
  let gateway: RelayProcess;
  let messages: RelayProcess;
  const probes: WsProbe[] = [];
  const original = async (query: string) => {
    const probe = await WsProbe.connect(`${gateway.http.replace(/^http/, 'ws')}/api/v1/ws/events?${query}`);
    probes.push(probe);
    return probe;
  };

  beforeAll(async () => {
    omoiosPython();
    [ingest, gateway, messages] = await Promise.all([
      spawnApp('ingest'),
      spawnApp('gateway'),
      spawnApp('message-queue'),
    ]);
    await Promise.all(
      [ingest, gateway, messages].map((service) =>
        waitFor(async () => (await fetch(`${service.http}/readyz`)).status === 200, 'readiness', 15_000),
      ),
    );
  }, 300_000);
  afterAll(async () => {
    await Promise.all(probes.map((probe) => probe.close()));
    await killSpawned();
  });

  it("an event an OmoiOS service publishes on its bus is stored by ingest and streamed by the gateway in the original's shape", async () => {
    const task = uniqueId('task');
    const probe = await original(`entity_types=task&entity_ids=${task}`);
    await publishOnOmoiosBus([
      { event_type: 'TASK_ASSIGNED', entity_type: 'task', entity_id: task, payload: { agent_id: 'agent-1' } },
    ]);
    const [frame] = await probe.events(1);
    expect(frame).toMatchObject({
      event_type: 'TASK_ASSIGNED',
      entity_type: 'task',
      entity_id: task,
      payload: { agent_id: 'agent-1' },
    });
    expect(frame!.id).toMatch(/^\d+$/);
  });

  it("a worker's POST to ingest and a message to message-queue reach the original's bus subscribers and WebSocket as SANDBOX_ events", async () => {
    const sandbox = uniqueId('omo-svc');
    const subscriber = await OmoiosBusSubscriber.start([sandbox], { count: 3, seconds: 30 });
    const probe = await original(
      `entity_types=sandbox&entity_ids=${sandbox}&event_types=SANDBOX_agent.tool_use,SANDBOX_MESSAGE_QUEUED`,
    );
    try {
      const [reported] = await runPythonJson<Array<{ status: number }>>(
        'original_worker.py',
        [JSON.stringify([{ op: 'report', event_type: 'agent.tool_use', event_data: { tool: 'Bash' } }])],
        {
          env: { CALLBACK_URL: ingest.http, SANDBOX_ID: sandbox, TASK_ID: 'task-svc', AGENT_ID: 'agent-svc' },
        },
      );
      expect(reported!.status).toBe(200);
      const nudge = await fetch(`${messages.http}/api/v1/sandboxes/${sandbox}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'Try the other approach.', message_type: 'guardian_nudge' }),
      });
      expect(nudge.status).toBe(200);

      const bus = await subscriber.received(2);
      expect(bus.map((message) => [message.channel, message.event.event_type])).toEqual([
        ['events.SANDBOX_agent.tool_use', 'SANDBOX_agent.tool_use'],
        ['events.SANDBOX_MESSAGE_QUEUED', 'SANDBOX_MESSAGE_QUEUED'],
      ]);
      expect(bus[0]!.event.payload).toMatchObject({
        tool: 'Bash',
        source: 'agent',
        original_event_type: 'agent.tool_use',
        sandbox_id: sandbox,
      });
      const frames = await probe.events(2);
      expect(frames.map((frame) => frame.event_type)).toEqual(['SANDBOX_agent.tool_use', 'SANDBOX_MESSAGE_QUEUED']);

      const [drained] = await runPythonJson<Array<{ status: number; body: Array<Record<string, unknown>> }>>(
        'original_worker.py',
        [JSON.stringify([{ op: 'poll' }])],
        {
          env: { CALLBACK_URL: messages.http, SANDBOX_ID: sandbox },
        },
      );
      expect(drained!.body).toEqual([
        expect.objectContaining({
          content: 'Try the other approach.',
          message_type: 'guardian_nudge',
          id: expect.any(String),
          timestamp: expect.any(String),
        }),
      ]);
    } finally {
      subscriber.close();
    }
  });
});
