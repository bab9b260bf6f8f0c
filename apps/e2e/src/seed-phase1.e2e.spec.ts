import { uniqueId, WsProbe } from '@sandbox-relay/testing';
import { postEvent, startRelay, type RunningRelay } from './support/relay';

// Seed phase 1: workers POST events that reach WebSocket clients.
describe('seed phase 1: sandbox event callback', () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(() => relay.stop());

  it('test_sandbox_event_endpoint_exists', async () => {
    const res = await postEvent(relay.http, 'test-123', {
      event_type: 'agent.started',
      event_data: { task_id: 'task-456' },
      source: 'agent',
    });
    expect(res.status).not.toBe(404);
    expect(res.status).toBe(200);
    expect(res.body.id).toMatch(/^\d+$/);
  });

  it('test_sandbox_event_broadcasts_to_websocket', async () => {
    const sandbox = uniqueId('test-sandbox-event-broadcast');
    const ws = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_types=sandbox&entity_ids=${sandbox}`);
    const res = await postEvent(relay.http, sandbox, {
      event_type: 'agent.tool_use',
      event_data: { tool: 'bash', command: 'npm install', exit_code: 0 },
      source: 'agent',
    });
    expect(res.status).toBe(200);
    const [event] = await ws.events(1, 3_000);
    expect(event).toEqual({
      id: res.body.id,
      event_type: 'agent.tool_use',
      entity_type: 'sandbox',
      entity_id: sandbox,
      payload: { tool: 'bash', command: 'npm install', exit_code: 0 },
      source: 'agent',
      timestamp: res.body.timestamp,
    });
    expect(event!.event_type!.toLowerCase()).toContain('tool_use');
    await ws.close();
  });

  it('test_sandbox_event_validates_input', async () => {
    const res = await postEvent(relay.http, 'test-123', { event_data: {} });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ field: 'body.event_type', message: 'is required' }]);
  });

  it("does not deliver another sandbox's events", async () => {
    const mine = uniqueId('sb-mine');
    const other = uniqueId('sb-other');
    const ws = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_ids=${mine}`);
    await postEvent(relay.http, other, { event_type: 'agent.message' });
    await postEvent(relay.http, mine, { event_type: 'agent.message' });
    const [event] = await ws.events(1);
    expect(event!.entity_id).toBe(mine);
    expect(ws.frames.every((frame) => frame.entity_id === mine)).toBe(true);
    await ws.close();
  });

  it('filters by event_types', async () => {
    const sandbox = uniqueId('sb');
    const ws = await WsProbe.connect(
      `${relay.ws}/api/v1/events/ws/events?entity_ids=${sandbox}&event_types=agent.completed,agent.error`,
    );
    for (const event_type of ['agent.started', 'heartbeat', 'agent.error', 'agent.tool_use', 'agent.completed']) {
      await postEvent(relay.http, sandbox, { event_type });
    }
    const events = await ws.events(2);
    expect(events.map((event) => event.event_type)).toEqual(['agent.error', 'agent.completed']);
    await ws.close();
  });
});
