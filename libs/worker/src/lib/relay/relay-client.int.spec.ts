import { testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { FakeRelayServer } from '../spec-support/fake-relay-server';
import { fitEventData, RelayClient } from './relay-client';

describe('RelayClient against a real HTTP server', () => {
  let server: FakeRelayServer;
  let client: RelayClient;

  beforeEach(async () => {
    server = new FakeRelayServer(uniqueId('sbx'));
    await server.start();
    client = new RelayClient({
      baseUrl: server.url,
      sandboxId: server.sandboxId,
      token: 'tok-1',
      logger: testLogger(),
      // Short backoff keeps the outage test fast; the shape of the backoff has its own unit test.
      outbox: { backoffBaseMs: 5, backoffCapMs: 40 },
    });
  });

  afterEach(async () => {
    client.close();
    await server.stop();
  });

  const emitRange = (from: number, to: number) => {
    for (let n = from; n <= to; n += 1) client.emit('agent.message', { n }, 'agent');
  };
  const storedNumbers = () => server.events.map((event) => event.event_data.n);

  it('loses nothing across an outage (503s, then connection refused) and keeps order, the backlog in batches', async () => {
    emitRange(1, 5);
    await waitFor(() => server.events.length === 5, 'the first events');
    server.unavailable = true;
    emitRange(6, 20);
    await waitFor(() => server.requests.some((request) => request.status === 503), 'a 503');
    await server.stop();
    emitRange(21, 40);
    await waitFor(() => client.stats().queued === 35, 'the backlog to build up');
    server.unavailable = false;
    await server.start();
    expect(await client.flush(5_000)).toBe(true);

    expect(storedNumbers()).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const batches = server.requests.filter(
      (request) => request.path.endsWith('/events/batch') && request.status === 200,
    );
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.reduce((sum, request) => sum + request.events, 0)).toBeGreaterThanOrEqual(30);
    expect(server.requests.every((request) => request.authorization === 'Bearer tok-1')).toBe(true);
    expect(client.stats()).toMatchObject({ queued: 0, sent: 40, dropped: 0, rejected: 0 });
  });

  it('keeps its events while the relay refuses its token with 401, and sends them once it is accepted', async () => {
    server.acceptedToken = 'tok-2';
    emitRange(1, 3);
    await waitFor(() => server.requests.filter((request) => request.status === 401).length >= 2, 'retried 401s');
    expect(client.stats()).toMatchObject({ queued: 3, rejected: 0, dropped: 0 });
    server.acceptedToken = 'tok-1';
    expect(await client.flush(5_000)).toBe(true);
    expect(storedNumbers()).toEqual([1, 2, 3]);
  });

  it('drops events the relay refuses with 422 without retrying them, and delivers the rest in order', async () => {
    server.refuse = (event) => event.event_data.bad === true;
    client.emit('agent.message', { n: 1 }, 'agent');
    client.emit('agent.message', { n: 2, bad: true }, 'agent');
    client.emit('agent.message', { n: 3 }, 'agent');
    expect(await client.flush(2_000)).toBe(true);
    expect(storedNumbers()).toEqual([1, 3]);
    const refusedSingles = server.requests.filter((request) => request.status === 422 && request.events === 1);
    expect(refusedSingles).toHaveLength(1);
    expect(client.stats()).toMatchObject({ rejected: 1, sent: 2 });
  });

  it('shrinks event data the relay would refuse for its size instead of losing the event', async () => {
    client.emit('agent.tool_completed', { tool: 'bash', exit_code: 0, stdout: 'x'.repeat(300 * 1024) }, 'agent');
    expect(await client.flush(2_000)).toBe(true);
    expect(server.events[0]?.event_data).toMatchObject({
      tool: 'bash',
      exit_code: 0,
      truncated: true,
      omitted_keys: ['stdout'],
    });
    expect(fitEventData({ small: 'data' })).toEqual({ small: 'data' });
  });

  it('drains messages interrupts first and never hands one out twice', async () => {
    server.queueMessage('user_message', 'first');
    server.queueMessage('interrupt', 'stop');
    const messages = await client.pollMessages();
    expect(messages?.map((m) => [m.message_type, m.content])).toEqual([
      ['interrupt', 'stop'],
      ['user_message', 'first'],
    ]);
    expect(await client.pollMessages()).toEqual([]);
  });

  it('answers null on a failed poll, then recovers messages whose drain answer was lost', async () => {
    server.queueMessage('user_message', 'one');
    expect((await client.pollMessages())?.map((m) => m.content)).toEqual(['one']);
    server.queueMessage('user_message', 'two');
    server.queueMessage('guardian_intervention', 'three');
    server.loseNextDrainAnswer = true;
    expect(await client.pollMessages()).toBeNull();
    expect((await client.pollMessages())?.map((m) => m.content)).toEqual(['two', 'three']);
    expect(await client.pollMessages()).toEqual([]);
  });

  it('answers null while the relay is unreachable', async () => {
    await server.stop();
    expect(await client.pollMessages()).toBeNull();
  });
});
