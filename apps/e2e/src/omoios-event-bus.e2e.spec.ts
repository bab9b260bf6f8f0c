import { RELAY_EVENT_SOURCES } from '@sandbox-relay/contracts';
import { createStore, type Store } from '@sandbox-relay/store';
import { metricValue, testInfra, uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { OmoiosBusSubscriber, publishOnOmoiosBus, redisRoundtrip, type SystemEventFields } from './support/omoios-bus';
import { PrivateRedis } from './support/private-redis';
import { omoiosPython } from './support/python';
import { postEvent, startRelay, type RunningRelay } from './support/relay';

// The original system's (OmoiOS) Redis event bus, both ways, against whole relays: its services'
// EventBusService publishing (Python: pydantic's model_dump_json on events.<type>) reaches the relay's
// WebSocket clients, and its subscribers (psubscribe events.*) read what the relay publishes. The bus
// is a Redis of this file's own: on the suites' shared Redis, another suite's relay (its bridge on, the
// same claim prefix) could claim a foreign message first, and store nothing if it was shutting down.
// The database is shared: everything here is counted by entity ids of its own.

const SEED_WS = '/api/v1/events/ws/events';

let redis: PrivateRedis;
beforeAll(async () => {
  redis = await PrivateRedis.start();
});
afterAll(async () => {
  await redis?.stop();
});
const publish = (events: SystemEventFields[]) => publishOnOmoiosBus(events, redis.url);
const busSubscriber = (entityIds: string[]) => OmoiosBusSubscriber.start(entityIds, { redisUrl: redis.url });
const relayOnBus = (overrides: Record<string, string> = {}) => startRelay({ REDIS_URL: redis.url, ...overrides });

async function postMessage(http: string, sandbox: string, body: object) {
  const res = await fetch(`${http}/api/v1/sandboxes/${sandbox}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { message_id: string } };
}

describe("the original's event bus (OMOIOS_BRIDGE on)", () => {
  let relay: RunningRelay;
  let store: Store;
  const rows = (entityId: string) =>
    store.prisma.sandboxEvent.findMany({ where: { entityId }, orderBy: { id: 'asc' } });
  const ws = (query: string) => WsProbe.connect(`${relay.ws}${SEED_WS}?${query}`);

  beforeAll(async () => {
    // Makes the venv (pip) on first use, or fails saying what is missing: these tests do not skip.
    omoiosPython();
    relay = await relayOnBus();
    store = createStore({ databaseUrl: testInfra().databaseUrl });
  }, 300_000);
  afterAll(async () => {
    await relay?.stop();
    await store?.close();
  });

  describe('seed phase 0, published by the Python EventBusService', () => {
    it('test_event_bus_to_websocket_flow', async () => {
      const sandbox = uniqueId('test-sandbox');
      const probe = await ws(`entity_types=sandbox&entity_ids=${sandbox}`);
      const [sent] = await publish([
        {
          event_type: 'TEST_SANDBOX_EVENT',
          entity_type: 'sandbox',
          entity_id: sandbox,
          payload: { test: true, timestamp: '2025-12-12' },
        },
      ]);
      expect(sent!.channel).toBe('events.TEST_SANDBOX_EVENT');
      const [event] = await probe.events(1);
      expect(event).toMatchObject({
        event_type: 'TEST_SANDBOX_EVENT',
        entity_type: 'sandbox',
        entity_id: sandbox,
        payload: { test: true, timestamp: '2025-12-12' },
        source: RELAY_EVENT_SOURCES.OMOIOS_BUS,
      });
      expect(event!.id).toMatch(/^\d+$/);
      // Stored first: resumable with since, from any cursor before it.
      const resumed = await ws(`entity_ids=${sandbox}&since=${BigInt(event!.id as string) - 1n}`);
      expect((await resumed.events(1))[0]).toEqual(event);
      await Promise.all([probe.close(), resumed.close()]);
    });

    it('test_websocket_filter_excludes_non_matching', async () => {
      const probe = await ws('entity_types=sandbox');
      const task = uniqueId('task');
      const witness = await ws(`entity_types=task&entity_ids=${task}`);
      await publish([{ event_type: 'TASK_COMPLETED', entity_type: 'task', entity_id: task, payload: {} }]);
      await witness.events(1);
      expect(probe.frames.filter((frame) => frame.entity_id === task)).toEqual([]);
      await Promise.all([probe.close(), witness.close()]);
    });

    it('test_redis_connection and test_redis_pubsub_roundtrip', async () => {
      expect(await redisRoundtrip(uniqueId('test.channel'), redis.url)).toEqual({
        ping: true,
        type: 'pmessage',
        data: '{"test": true}',
      });
    });
  });

  it("a Python subscriber parses the relay's events as SystemEvent: a worker's as SANDBOX_<type>, the relay's own by name; none is taken in again", async () => {
    const sandbox = uniqueId('sb-omo-bus');
    const subscriber = await busSubscriber([sandbox]);
    try {
      const posted = await postEvent(relay.http, sandbox, {
        event_type: 'agent.tool_use',
        event_data: { tool: 'Bash', command: 'npm test' },
        source: 'worker',
      });
      expect(posted.status).toBe(200);
      const queued = await postMessage(relay.http, sandbox, { content: 'add the tests', message_type: 'user_message' });
      expect(queued.status).toBe(200);
      const received = await subscriber.received(2);
      const byChannel = Object.fromEntries(received.map((message) => [message.channel, message]));
      expect(Object.keys(byChannel).sort()).toEqual(['events.SANDBOX_MESSAGE_QUEUED', 'events.SANDBOX_agent.tool_use']);
      expect(byChannel['events.SANDBOX_agent.tool_use']).toEqual({
        channel: 'events.SANDBOX_agent.tool_use',
        event: {
          event_type: 'SANDBOX_agent.tool_use',
          entity_type: 'sandbox',
          entity_id: sandbox,
          payload: { tool: 'Bash', command: 'npm test', source: 'worker', original_event_type: 'agent.tool_use' },
        },
        extra: ['id', 'timestamp'],
      });
      expect(byChannel['events.SANDBOX_MESSAGE_QUEUED']).toEqual({
        channel: 'events.SANDBOX_MESSAGE_QUEUED',
        event: {
          event_type: 'SANDBOX_MESSAGE_QUEUED',
          entity_type: 'sandbox',
          entity_id: sandbox,
          payload: expect.objectContaining({ message_id: queued.body.message_id, message_type: 'user_message' }),
        },
        extra: ['id', 'timestamp'],
      });

      // No loop: a foreign event published after them is taken in; by then the relay's own two went past
      // the bridge (one Redis delivers to one subscriber in order), and neither was stored again.
      await publish([
        { event_type: 'AGENT_STATUS_CHANGED', entity_type: 'sandbox', entity_id: sandbox, payload: { status: 'idle' } },
      ]);
      await waitFor(
        async () => (await rows(sandbox)).some((row) => row.source === RELAY_EVENT_SOURCES.OMOIOS_BUS),
        'the foreign event stored',
      );
      const stored = await rows(sandbox);
      expect(stored.map((row) => [row.eventType, row.source])).toEqual([
        ['agent.tool_use', 'worker'],
        ['SANDBOX_MESSAGE_QUEUED', RELAY_EVENT_SOURCES.MESSAGE_QUEUE],
        ['AGENT_STATUS_CHANGED', RELAY_EVENT_SOURCES.OMOIOS_BUS],
      ]);
      // What was taken in is not published back on the bus. The ingest publishes in commit order: once an
      // event posted after it is on the bus, its echo would have been too.
      expect((await postEvent(relay.http, sandbox, { event_type: 'agent.completed', source: 'worker' })).status).toBe(
        200,
      );
      await waitFor(
        () => subscriber.messages.some((message) => message.event.event_type === 'SANDBOX_agent.completed'),
        'the later event on the bus',
      );
      expect(subscriber.messages.map((message) => [message.event.event_type, message.extra])).toEqual([
        expect.anything(),
        expect.anything(),
        // Only the original's own message (no relay id): not one published by the relay.
        ['AGENT_STATUS_CHANGED', []],
        ['SANDBOX_agent.completed', ['id', 'timestamp']],
      ]);
    } finally {
      subscriber.close();
    }
  });

  it('two relays on one database and Redis (two bridges) store each foreign event once, and each socket gets it once', async () => {
    const second = await relayOnBus();
    try {
      const agent = uniqueId('agent');
      const sockets = await Promise.all(
        [relay, second, relay, second].map((r) => WsProbe.connect(`${r.ws}${SEED_WS}?entity_ids=${agent}`)),
      );
      const events: SystemEventFields[] = [
        { event_type: 'AGENT_STATUS_CHANGED', entity_type: 'agent', entity_id: agent, payload: { status: 'busy' } },
        { event_type: 'HEARTBEAT_MISSED', entity_type: 'agent', entity_id: agent, payload: { missed: 1 } },
        // The same bytes again: another event, stored again.
        { event_type: 'HEARTBEAT_MISSED', entity_type: 'agent', entity_id: agent, payload: { missed: 1 } },
        { event_type: 'AGENT_RESTARTED', entity_type: 'agent', entity_id: agent, payload: { marker: true } },
      ];
      await publish(events);
      await waitFor(async () => (await rows(agent)).length >= events.length, 'the events stored');
      // The marker is the last published: each socket has everything else by the time it has the marker... and nothing twice.
      for (const socket of sockets)
        await waitFor(
          () => socket.frames.some((frame) => frame.event_type === 'AGENT_RESTARTED'),
          'the marker on every socket',
        );
      const stored = await rows(agent);
      expect(stored.map((row) => row.eventType).sort()).toEqual([
        'AGENT_RESTARTED',
        'AGENT_STATUS_CHANGED',
        'HEARTBEAT_MISSED',
        'HEARTBEAT_MISSED',
      ]);
      expect(new Set(stored.map((row) => row.source))).toEqual(new Set([RELAY_EVENT_SOURCES.OMOIOS_BUS]));
      const ids = stored.map((row) => row.id.toString()).sort();
      for (const socket of sockets) expect(socket.frames.map((frame) => frame.id).sort()).toEqual(ids);
      await Promise.all(sockets.map((socket) => socket.close()));
    } finally {
      await second.stop();
    }
  });
});

describe("the original's event bus with OMOIOS_BRIDGE=off", () => {
  let off: RunningRelay;
  let on: RunningRelay;
  let store: Store;

  beforeAll(async () => {
    omoiosPython();
    [off, on] = await Promise.all([relayOnBus({ OMOIOS_BRIDGE: 'off' }), relayOnBus()]);
    store = createStore({ databaseUrl: testInfra().databaseUrl });
  }, 300_000);
  afterAll(async () => {
    await Promise.all([off?.stop(), on?.stop()]);
    await store?.close();
  });

  it('publishes nothing on events.* and takes nothing in', async () => {
    expect(off.standalone.redis.omoiosBus).toBeNull();
    const offSandbox = uniqueId('sb-off');
    const onSandbox = uniqueId('sb-on');
    const subscriber = await busSubscriber([offSandbox, onSandbox]);
    try {
      // A relay with the bridge on runs beside it on the same bus.
      const probe = await WsProbe.connect(`${off.ws}${SEED_WS}?entity_ids=${offSandbox}`);
      expect((await postEvent(off.http, offSandbox, { event_type: 'agent.started' })).status).toBe(200);
      expect((await postMessage(off.http, offSandbox, { content: 'hello' })).status).toBe(200);
      await probe.events(2);
      // Published after the off relay's two events: once it is on the bus, theirs would have been too.
      expect((await postEvent(on.http, onSandbox, { event_type: 'agent.started' })).status).toBe(200);
      await waitFor(
        () => subscriber.messages.some((message) => message.event.entity_id === onSandbox),
        "the bridged relay's event on the bus",
      );
      expect(subscriber.messages.filter((message) => message.event.entity_id === offSandbox)).toEqual([]);
      await probe.close();
    } finally {
      subscriber.close();
    }

    // Taking in. The off relay opened no connection for the bus (nothing else subscribes events.*) and
    // reports no such readiness check, where the bridged one does.
    const checks = async (r: RunningRelay) =>
      Object.keys(((await (await fetch(`${r.http}/readyz`)).json()) as { checks: object }).checks);
    expect(await checks(off)).not.toContain('omoios-bridge');
    expect(await checks(on)).toContain('omoios-bridge');
    // With the bridged relay gone, no bridge runs in this process: foreign events move none of its counts.
    await on.stop();
    const taken = async () => {
      const text = await (await fetch(`${off.http}/metrics`)).text();
      return ['stored', 'duplicate', 'relay', 'invalid', 'failed'].map(
        (outcome) => metricValue(text, 'relay_omoios_bridge_messages_total', { outcome }) ?? 0,
      );
    };
    const before = await taken();
    const task = uniqueId('task-off');
    const watcher = await busSubscriber([task]);
    try {
      await publish([{ event_type: 'TASK_CREATED', entity_type: 'task', entity_id: task, payload: {} }]);
      await watcher.received(1);
      // A round trip through the off relay's own Redis connections after the bus message was delivered.
      const witness = uniqueId('sb-off-witness');
      const witnessProbe = await WsProbe.connect(`${off.ws}${SEED_WS}?entity_ids=${witness}`);
      expect((await postEvent(off.http, witness, { event_type: 'agent.started' })).status).toBe(200);
      await witnessProbe.events(1);
      expect(await taken()).toEqual(before);
      await witnessProbe.close();
    } finally {
      watcher.close();
    }
  });
});
