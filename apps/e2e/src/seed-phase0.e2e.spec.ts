import { uniqueId, WsProbe } from '@sandbox-relay/testing';
import { ServerEventEmitter, startRelay, type RunningRelay } from './support/relay';

// Seed phase 0: a server-side event published on the bus reaches WebSocket clients, filtered.
describe('seed phase 0: event bus → WebSocket', () => {
  let relay: RunningRelay;
  let emitter: ServerEventEmitter;
  beforeAll(async () => {
    relay = await startRelay();
    emitter = new ServerEventEmitter();
  });
  afterAll(async () => {
    await emitter.close();
    await relay.stop();
  });

  it('test_event_bus_to_websocket_flow', async () => {
    const sandbox = uniqueId('test-sandbox');
    const ws = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_types=sandbox&entity_ids=${sandbox}`);
    await emitter.emit({
      event_type: 'TEST_SANDBOX_EVENT',
      entity_type: 'sandbox',
      entity_id: sandbox,
      payload: { test: true, timestamp: '2025-12-12' },
    });
    const [event] = await ws.events(1);
    expect(event).toMatchObject({
      event_type: 'TEST_SANDBOX_EVENT',
      entity_type: 'sandbox',
      entity_id: sandbox,
      payload: { test: true },
    });
    expect(event!.id).toMatch(/^\d+$/);
    await ws.close();
  });

  it('test_websocket_filter_excludes_non_matching', async () => {
    const ws = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_types=sandbox`);
    const task = uniqueId('task');
    await emitter.emit({ event_type: 'TASK_COMPLETED', entity_type: 'task', entity_id: task, payload: {} });
    // A second client that does match proves the task event was published and delivered by now.
    const witness = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_types=task&entity_ids=${task}`);
    await emitter.emit({
      event_type: 'TASK_COMPLETED',
      entity_type: 'task',
      entity_id: task,
      payload: { second: true },
    });
    await witness.events(1);
    expect(ws.frames.filter((frame) => frame.entity_id === task)).toEqual([]);
    await Promise.all([ws.close(), witness.close()]);
  });
});
