import { omoiosChannel, type OmoiosForeignEvent } from '@sandbox-relay/contracts';
import { metricsRegistry } from '@sandbox-relay/service-kit';
import { PrivateRedis, metricValue, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { OmoiosBridge } from './omoios-bridge';
import { closeRedis, createRedisClient, type Redis } from './redis';

const logger = testLogger();

type Outcomes = Record<'stored' | 'duplicate' | 'relay' | 'invalid' | 'failed', number>;

async function outcomes(): Promise<Outcomes> {
  const text = await metricsRegistry.metrics();
  const read = (outcome: string) => metricValue(text, 'relay_omoios_bridge_messages_total', { outcome }) ?? 0;
  return {
    stored: read('stored'),
    duplicate: read('duplicate'),
    relay: read('relay'),
    invalid: read('invalid'),
    failed: read('failed'),
  };
}

/** What pydantic's `SystemEvent.model_dump_json()` makes: compact JSON, fields in declaration order. */
function systemEvent(
  eventType: string,
  entityType: string,
  entityId: string,
  payload: Record<string, unknown> = {},
): string {
  return JSON.stringify({ event_type: eventType, entity_type: entityType, entity_id: entityId, payload });
}

describe("OmoiosBridge (the original's bus → the relay's log)", () => {
  // A Redis of its own: the bridge takes in every message on events.*, and the outcome counts these specs
  // wait for would also count what other suites publish there on a shared one.
  let server: PrivateRedis;
  const connections: Redis[] = [];
  let publisher: Redis;
  const connect = (role: 'subscriber' | 'publisher') => {
    const redis = createRedisClient(server.url, { name: 'bridge-test', role, logger });
    connections.push(redis);
    return redis;
  };

  /**
   * A bridge with its own subscriber connection and a sink for what it stores; claims under a prefix of this
   * test's own, on the suite's publisher connection, ready before any test (as a service's is before it
   * serves): a connection of its own could still be connecting when the first message comes, and the
   * publisher role queues nothing while it connects.
   */
  function bridge(keyPrefix: string, store?: (event: OmoiosForeignEvent) => Promise<unknown>) {
    const stored: OmoiosForeignEvent[] = [];
    const instance = new OmoiosBridge({
      subscriber: connect('subscriber'),
      claims: publisher,
      store: store ?? (async (event) => void stored.push(event)),
      logger,
      options: { keyPrefix },
    });
    return { bridge: instance, stored };
  }

  beforeAll(async () => {
    server = await PrivateRedis.start();
    publisher = connect('publisher');
    await waitFor(() => publisher.status === 'ready', 'the publisher');
  });
  afterAll(async () => {
    await Promise.all(connections.map(closeRedis));
    await server.stop();
  });

  it('stores a SystemEvent as given, and leaves alone what a relay published', async () => {
    const { bridge: one, stored } = bridge(uniqueId('claims:'));
    await one.start();
    const task = uniqueId('task');
    const before = await outcomes();
    const relayMessage = JSON.stringify({
      event_type: 'TASK_CREATED',
      entity_type: 'task',
      entity_id: task,
      payload: {},
      id: '17',
      timestamp: new Date().toISOString(),
    });
    await publisher.publish(omoiosChannel('TASK_CREATED'), relayMessage);
    await publisher.publish(
      omoiosChannel('TASK_COMPLETED'),
      systemEvent('TASK_COMPLETED', 'task', task, { result: { ok: true } }),
    );
    await publisher.publish(
      omoiosChannel('AGENT_RESTARTED'),
      JSON.stringify({ event_type: 'AGENT_RESTARTED', entity_type: 'task', entity_id: task }),
    );
    await waitFor(() => stored.filter((event) => event.entity_id === task).length === 2, 'the two events');
    expect(stored.filter((event) => event.entity_id === task)).toEqual([
      { event_type: 'TASK_COMPLETED', entity_type: 'task', entity_id: task, payload: { result: { ok: true } } },
      { event_type: 'AGENT_RESTARTED', entity_type: 'task', entity_id: task, payload: {} },
    ]);
    const after = await outcomes();
    expect(after.relay - before.relay).toBeGreaterThanOrEqual(1);
    await one.stop();
  });

  it('drops (logs and counts) what is not a storable SystemEvent and keeps taking in', async () => {
    const { bridge: one, stored } = bridge(uniqueId('claims:'));
    await one.start();
    const before = await outcomes();
    const sandbox = uniqueId('sb');
    const bad = [
      'not json',
      '[1,2]',
      '"text"',
      JSON.stringify({ event_type: 'X', entity_type: 'task' }),
      JSON.stringify({ event_type: 'X', entity_type: 'task', entity_id: sandbox, payload: 'text' }),
      JSON.stringify({ event_type: 'X', entity_type: 'task', entity_id: sandbox, payload: { s: 'a\u0000b' } }),
      JSON.stringify({ event_type: 'X', entity_type: 'task', entity_id: 'has space' }),
    ];
    for (const message of bad) await publisher.publish(omoiosChannel('X'), message);
    await publisher.publish(omoiosChannel('WITNESS'), systemEvent('WITNESS', 'sandbox', sandbox));
    await waitFor(() => stored.some((event) => event.entity_id === sandbox), 'the witness after the bad messages');
    expect(stored.filter((event) => event.entity_id === sandbox).map((event) => event.event_type)).toEqual(['WITNESS']);
    expect((await outcomes()).invalid - before.invalid).toBe(bad.length);
    await one.stop();
  });

  it('with two replicas, stores each message once, and each copy of the same bytes once', async () => {
    const prefix = uniqueId('claims:');
    const a = bridge(prefix);
    const b = bridge(prefix);
    await Promise.all([a.bridge.start(), b.bridge.start()]);
    const agent = uniqueId('agent');
    const before = await outcomes();
    const messages = [
      systemEvent('AGENT_STATUS_CHANGED', 'agent', agent, { status: 'busy' }),
      systemEvent('HEARTBEAT_MISSED', 'agent', agent, { missed: 1 }),
      // The same bytes again: a second event, not a duplicate.
      systemEvent('HEARTBEAT_MISSED', 'agent', agent, { missed: 1 }),
      systemEvent('AGENT_STATUS_CHANGED', 'agent', agent, { status: 'idle' }),
      systemEvent('HEARTBEAT_MISSED', 'agent', agent, { missed: 1 }),
    ];
    for (const message of messages) await publisher.publish(omoiosChannel(JSON.parse(message).event_type), message);
    const mine = () => [...a.stored, ...b.stored].filter((event) => event.entity_id === agent);
    // Each message is claimed by one bridge and found taken by the other.
    await waitFor(async () => {
      const now = await outcomes();
      return now.stored - before.stored + (now.duplicate - before.duplicate) === 2 * messages.length;
    }, 'both replicas to decide on every message');
    expect(mine()).toHaveLength(messages.length);
    const count = (type: string, key: string, value: unknown) =>
      mine().filter((event) => event.event_type === type && event.payload[key] === value).length;
    expect(count('HEARTBEAT_MISSED', 'missed', 1)).toBe(3);
    expect(count('AGENT_STATUS_CHANGED', 'status', 'busy')).toBe(1);
    expect(count('AGENT_STATUS_CHANGED', 'status', 'idle')).toBe(1);
    await Promise.all([a.bridge.stop(), b.bridge.stop()]);
  });

  it('on stop, takes in nothing more and waits for what it already took in; readiness follows', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const stored: OmoiosForeignEvent[] = [];
    const { bridge: one } = bridge(uniqueId('claims:'), async (event) => {
      await held;
      stored.push(event);
    });
    await expect(one.check()).rejects.toThrow(/not taking in/);
    await one.start();
    await expect(one.check()).resolves.toBeUndefined();
    const task = uniqueId('task');
    await publisher.publish(omoiosChannel('TASK_STARTED'), systemEvent('TASK_STARTED', 'task', task));
    await waitFor(() => one.pending === 1, 'the message to be claimed and handed to the store');
    let stopped = false;
    const stopping = one.stop().then(() => (stopped = true));
    await expect(one.check()).rejects.toThrow(/not taking in/);
    // A bridge still running receives what comes next: the stopped one must have ignored it by then.
    const witness = bridge(uniqueId('claims:'));
    await witness.bridge.start();
    await publisher.publish(omoiosChannel('TASK_COMPLETED'), systemEvent('TASK_COMPLETED', 'task', task));
    await waitFor(() => witness.stored.some((event) => event.entity_id === task), 'the witness bridge to take it in');
    expect(stopped).toBe(false);
    expect(one.pending).toBe(1);
    release();
    await stopping;
    expect(one.pending).toBe(0);
    expect(stored.map((event) => event.event_type)).toEqual(['TASK_STARTED']);
    await witness.bridge.stop();
  });

  it('refuses a claim that would outlive its occurrence window', () => {
    expect(
      () =>
        new OmoiosBridge({
          subscriber: publisher,
          claims: publisher,
          store: async () => undefined,
          logger,
          options: { windowMs: 1000, claimTtlMs: 1000 },
        }),
    ).toThrow(/claimTtlMs < windowMs/);
  });
});
