import {
  OMOIOS_WS_ERRORS,
  OMOIOS_WS_PATH,
  OmoiosWsServerFrame,
  RelayOmoiosEvent,
  WS_CLOSE_CODES,
} from '@sandbox-relay/contracts';
import { uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { ServerEventEmitter, postEvent, startRelay, type RunningRelay } from './support/relay';

// The original system's (OmoiOS) WebSocket on its own path, as its unchanged frontend uses it, against
// the whole relay (auth off here; the token cases are in omoios-websocket-auth.e2e.spec.ts).

const IDLE_PING_MS = 400;

describe('the original WebSocket protocol on /api/v1/ws/events', () => {
  let relay: RunningRelay;
  const original = (query: string) => WsProbe.connect(`${relay.ws}${OMOIOS_WS_PATH}?${query}`);

  beforeAll(async () => {
    relay = await startRelay({ WS_OMOIOS_IDLE_PING_MS: String(IDLE_PING_MS) });
  });
  afterAll(() => relay.stop());

  it('sends a worker event as SANDBOX_<type> with source and original_event_type, while the seed path keeps the envelope', async () => {
    const sandbox = uniqueId('sb-omo');
    const probe = await original(`entity_types=sandbox&entity_ids=${sandbox}`);
    const seed = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_ids=${sandbox}`);

    const posted = await postEvent(relay.http, sandbox, {
      event_type: 'agent.tool_use',
      event_data: { tool: 'bash', command: 'npm test' },
      source: 'agent',
    });
    expect(posted.status).toBe(200);
    const [toolUse] = await probe.events(1);
    expect(toolUse).toEqual({
      event_type: 'SANDBOX_agent.tool_use',
      entity_type: 'sandbox',
      entity_id: sandbox,
      payload: { tool: 'bash', command: 'npm test', source: 'agent', original_event_type: 'agent.tool_use' },
      id: posted.body.id,
      timestamp: posted.body.timestamp,
    });
    expect(RelayOmoiosEvent.parse(toolUse)).toEqual(toolUse);
    expect(await seed.events(1)).toEqual([posted.body]);
    expect(posted.body).toMatchObject({ event_type: 'agent.tool_use', source: 'agent' });
    await Promise.all([probe.close(), seed.close()]);
  });

  it("sends a relay event (a task's, as the relay's services emit them) under its own name and payload", async () => {
    const task = uniqueId('task');
    const probe = await original(`entity_types=task&entity_ids=${task}&event_types=TASK_CREATED`);
    const emitter = new ServerEventEmitter();
    try {
      const stored = await emitter.emit({
        event_type: 'TASK_CREATED',
        entity_type: 'task',
        entity_id: task,
        payload: { title: 'fix the build' },
      });
      const [frame] = await probe.events(1);
      expect(frame).toEqual({
        event_type: 'TASK_CREATED',
        entity_type: 'task',
        entity_id: task,
        payload: { title: 'fix the build' },
        id: stored.id,
        timestamp: stored.timestamp,
      });
      expect(OmoiosWsServerFrame.safeParse(frame).success).toBe(true);
    } finally {
      await emitter.close();
      await probe.close();
    }
  });

  it("filters event_types by the original name: SANDBOX_agent.completed receives the worker's agent.completed", async () => {
    const sandbox = uniqueId('sb-omo-filter');
    const probe = await original(`event_types=SANDBOX_agent.waiting,%20SANDBOX_agent.completed&entity_ids=${sandbox}`);
    await postEvent(relay.http, sandbox, { event_type: 'agent.tool_use', event_data: { tool: 'bash' } });
    const completed = await postEvent(relay.http, sandbox, {
      event_type: 'agent.completed',
      event_data: { cost_usd: 0.12 },
    });
    const waiting = await postEvent(relay.http, sandbox, { event_type: 'agent.waiting' });
    // One entity's events arrive in id order: the tool use, posted first, was filtered out.
    const [first, second] = await probe.events(2);
    expect(first).toMatchObject({
      id: completed.body.id,
      event_type: 'SANDBOX_agent.completed',
      payload: { cost_usd: 0.12, source: 'agent', original_event_type: 'agent.completed' },
    });
    expect(second).toMatchObject({ id: waiting.body.id, event_type: 'SANDBOX_agent.waiting' });
    await probe.close();
  });

  it('re-filters on a subscribe frame, answers it with the filters, and keeps the kinds it did not name', async () => {
    const sandbox = uniqueId('sb-omo-sub');
    const probe = await original(`entity_ids=${sandbox}&event_types=SANDBOX_agent.tool_use`);
    probe.ws.send(JSON.stringify({ type: 'subscribe', event_types: ['SANDBOX_agent.completed'] }));
    const [answer] = await probe.events(1);
    expect(answer).toEqual({ status: 'subscribed', filters: { event_types: ['SANDBOX_agent.completed'] } });

    await postEvent(relay.http, sandbox, { event_type: 'agent.tool_use' });
    const completed = await postEvent(relay.http, sandbox, { event_type: 'agent.completed' });
    await postEvent(relay.http, `${sandbox}-other`, { event_type: 'agent.completed' });
    const [, event] = await probe.events(2);
    expect(event).toMatchObject({ id: completed.body.id, entity_id: sandbox, event_type: 'SANDBOX_agent.completed' });

    // null clears a kind; the entity filter from the query still holds.
    probe.ws.send(JSON.stringify({ type: 'subscribe', event_types: null }));
    expect((await probe.events(3))[2]).toEqual({ status: 'subscribed', filters: { event_types: [] } });
    const toolUse = await postEvent(relay.http, sandbox, { event_type: 'agent.tool_use' });
    expect((await probe.events(4))[3]).toMatchObject({ id: toolUse.body.id, event_type: 'SANDBOX_agent.tool_use' });

    probe.ws.send(JSON.stringify({ type: 'subscribe', entity_ids: 'not an id' }));
    expect((await probe.events(5))[4]).toEqual({
      error: expect.stringMatching(/^Invalid subscribe message \(entity_ids/),
    });
    expect(probe.closeCode).toBeUndefined();
    await probe.close();
  });

  it('answers text that is not JSON with the error frame and stays open; other JSON is ignored', async () => {
    const sandbox = uniqueId('sb-omo-json');
    const probe = await original(`entity_ids=${sandbox}`);
    probe.ws.send('{not json');
    expect(await probe.events(1)).toEqual([{ error: OMOIOS_WS_ERRORS.INVALID_JSON }]);
    probe.ws.send(JSON.stringify({ type: 'pong' }));
    probe.ws.send('[1,2]');
    const posted = await postEvent(relay.http, sandbox, {
      event_type: 'agent.message',
      event_data: { content: 'still here' },
    });
    expect((await probe.events(2))[1]).toMatchObject({ id: posted.body.id, event_type: 'SANDBOX_agent.message' });
    expect(probe.frames).toHaveLength(2);
    await probe.close();
  });

  it('sends {"type":"ping"} only after the client was silent for the idle interval', async () => {
    const probe = await original(`entity_ids=${uniqueId('sb-omo-ping')}`);
    // While the client speaks more often than the interval, no ping frame comes.
    let lastSent = Date.now();
    const chatter = setInterval(() => {
      probe.ws.send(JSON.stringify({ type: 'pong' }));
      lastSent = Date.now();
    }, IDLE_PING_MS / 4);
    const talking = Date.now();
    await waitFor(() => Date.now() - talking >= IDLE_PING_MS * 3, 'three idle intervals of chatter', IDLE_PING_MS * 5);
    clearInterval(chatter);
    expect(probe.pings).toHaveLength(0);
    await waitFor(() => probe.pings.length >= 1, 'a ping frame after silence', IDLE_PING_MS * 5);
    // The server's countdown restarts when it reads the client's last message, which left after lastSent.
    expect(Date.now() - lastSent).toBeGreaterThanOrEqual(IDLE_PING_MS - 10);
    expect(probe.pings[0]).toEqual({ type: 'ping' });
    await waitFor(() => probe.pings.length >= 2, 'the next ping, one interval later', IDLE_PING_MS * 5);
    expect(probe.closeCode).toBeUndefined();
    await probe.close();
  });

  it('resumes with since: replays what followed in the original shape, then continues live, no gap, no duplicate', async () => {
    const sandbox = uniqueId('sb-omo-since');
    const first = await postEvent(relay.http, sandbox, { event_type: 'agent.started' });
    const missed = [
      await postEvent(relay.http, sandbox, { event_type: 'agent.tool_use', event_data: { n: 1 } }),
      await postEvent(relay.http, sandbox, { event_type: 'agent.tool_use', event_data: { n: 2 } }),
    ];
    const probe = await original(
      `entity_ids=${sandbox}&event_types=SANDBOX_agent.tool_use,SANDBOX_agent.completed&since=${first.body.id}`,
    );
    const replayed = await probe.events(2);
    expect(replayed).toEqual(
      missed.map((m) => ({
        event_type: 'SANDBOX_agent.tool_use',
        entity_type: 'sandbox',
        entity_id: sandbox,
        payload: { ...m.body.payload, source: 'agent', original_event_type: 'agent.tool_use' },
        id: m.body.id,
        timestamp: m.body.timestamp,
      })),
    );
    const live = await postEvent(relay.http, sandbox, { event_type: 'agent.completed' });
    const all = await probe.events(3);
    expect(all.map((frame) => frame.id)).toEqual([missed[0]!.body.id, missed[1]!.body.id, live.body.id]);
    expect(all[2]!.event_type).toBe('SANDBOX_agent.completed');
    await probe.close();
  });

  it('refuses a query that does not parse before the upgrade, as the seed path does', async () => {
    await expect(original('since=abc')).rejects.toThrow('upgrade refused with HTTP 400');
    await expect(original('entity_ids=a&entity_ids=b')).rejects.toThrow('upgrade refused with HTTP 400');
  });
});

describe('the original WebSocket protocol while the gateway drains', () => {
  it('closes open sockets with 1012 (its client reconnects), then refuses new ones with the not-ready frame and 1013', async () => {
    const relay = await startRelay();
    try {
      const open = await WsProbe.connect(`${relay.ws}${OMOIOS_WS_PATH}`);
      const closing = relay.standalone.gateway.close();
      expect(await open.closed()).toEqual({ code: WS_CLOSE_CODES.SERVICE_RESTART, reason: 'server shutting down' });
      await closing;

      const late = await WsProbe.connect(`${relay.ws}${OMOIOS_WS_PATH}?entity_ids=a`);
      expect(await late.closed()).toEqual({ code: WS_CLOSE_CODES.TRY_AGAIN_LATER, reason: OMOIOS_WS_ERRORS.NOT_READY });
      expect(late.frames).toEqual([{ error: 'Service not ready, please retry' }]);
      // The seed path's answer is unchanged: an HTTP 503 before the upgrade.
      await expect(WsProbe.connect(`${relay.ws}/api/v1/events/ws/events`)).rejects.toThrow(
        'upgrade refused with HTTP 503',
      );
    } finally {
      await relay.stop();
    }
  });
});
