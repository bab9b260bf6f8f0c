import type { EventHistoryPage } from '@sandbox-relay/contracts';
import { compareIds } from '@sandbox-relay/store';
import { CLOSED_PORT, uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { postEvent, startRelay, type RunningRelay } from './support/relay';

const wsPath = '/api/v1/events/ws/events';

describe('live stream: ordering, resume', () => {
  let relay: RunningRelay;
  // The default ping interval: these tests are about delivery, and a burst of 200 requests handled in
  // this one process may keep a pong unread for longer than the short interval the liveness tests use.
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(() => relay.stop());

  it('delivers 200 concurrent POSTs once each, in id order', async () => {
    const sandbox = uniqueId('sb-burst');
    const ws = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${sandbox}&event_types=agent.tool_use`);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, seq) =>
        postEvent(relay.http, sandbox, { event_type: 'agent.tool_use', event_data: { seq } }),
      ),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const acknowledged = answers.map((answer) => answer.body.id as string);
    expect(new Set(acknowledged).size).toBe(200);

    const frames = await ws.events(200);
    const ids = frames.map((frame) => frame.id!);
    expect(new Set(ids).size).toBe(200);
    expect([...ids].sort(compareIds)).toEqual(ids);
    expect([...ids].sort()).toEqual([...acknowledged].sort());

    const history = (await (
      await fetch(`${relay.http}/api/v1/sandboxes/${sandbox}/events?limit=1000`)
    ).json()) as EventHistoryPage;
    expect(history.events.map((event) => event.id)).toEqual(ids);
    await ws.close();
  });

  it('replays stored events after `since`, then continues live', async () => {
    const sandbox = uniqueId('sb-resume');
    const first = await postEvent(relay.http, sandbox, { event_type: 'agent.started' });
    await postEvent(relay.http, sandbox, { event_type: 'agent.tool_use' });
    await postEvent(relay.http, sandbox, { event_type: 'agent.tool_completed' });

    const ws = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${sandbox}&since=${first.body.id}`);
    const replayed = await ws.events(2);
    expect(replayed.map((frame) => frame.event_type)).toEqual(['agent.tool_use', 'agent.tool_completed']);
    await postEvent(relay.http, sandbox, { event_type: 'agent.completed' });
    const all = await ws.events(3);
    expect(all.map((frame) => frame.event_type)).toEqual(['agent.tool_use', 'agent.tool_completed', 'agent.completed']);
    await ws.close();

    // Reconnect with the last id seen: what happened while away arrives, nothing twice.
    await postEvent(relay.http, sandbox, { event_type: 'agent.message' });
    const again = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${sandbox}&since=${all[2]!.id}`);
    const missed = await again.events(1);
    expect(missed.map((frame) => frame.event_type)).toEqual(['agent.message']);
    await postEvent(relay.http, sandbox, { event_type: 'heartbeat' });
    await again.events(2);
    expect(again.frames.map((frame) => frame.event_type)).toEqual(['agent.message', 'heartbeat']);
    await again.close();
  });

  it('joins replay and live with no gap and no duplicate while events keep arriving', async () => {
    const sandbox = uniqueId('sb-seam');
    const ids: string[] = [];
    const writer = (async () => {
      for (let seq = 0; seq < 120; seq += 1) {
        ids.push((await postEvent(relay.http, sandbox, { event_type: 'agent.message', event_data: { seq } })).body.id);
      }
    })();
    await waitFor(() => ids.length >= 30, '30 events stored');
    const cursor = ids[9]!;
    const ws = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${sandbox}&since=${cursor}`);
    await writer;
    const frames = await ws.events(110);
    expect(frames.map((frame) => frame.payload!.seq)).toEqual(Array.from({ length: 110 }, (_, index) => index + 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ws.frames).toHaveLength(110);
    await ws.close();
  });

  it('refuses a bad subscription query with 400 before upgrading', async () => {
    await expect(WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=../etc`)).rejects.toThrow(/HTTP 400/);
    await expect(WsProbe.connect(`${relay.ws}${wsPath}?since=yesterday`)).rejects.toThrow(/HTTP 400/);
    await expect(WsProbe.connect(`${relay.ws}/api/v1/other`)).rejects.toThrow(/HTTP 404/);
  });

  it('backfills from the store what a Redis subscription drop swallowed', async () => {
    const sandbox = uniqueId('sb-gap');
    const ws = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${sandbox}`);
    await postEvent(relay.http, sandbox, { event_type: 'agent.started' });
    await ws.events(1);

    const subscriber = relay.standalone.redis.subscriber;
    try {
      // Cut the gateway's subscription and keep it cut while two events are published (a Redis restart, say).
      subscriber.disconnect();
      await waitFor(() => subscriber.status === 'end', 'the subscription to be cut');
      await postEvent(relay.http, sandbox, { event_type: 'agent.tool_use' });
      await postEvent(relay.http, sandbox, { event_type: 'agent.completed' });
      expect(ws.frames).toHaveLength(1);
      await subscriber.connect();
      const frames = await ws.events(3, 5_000);
      expect(frames.map((frame) => frame.event_type)).toEqual(['agent.started', 'agent.tool_use', 'agent.completed']);
      await postEvent(relay.http, sandbox, { event_type: 'heartbeat' });
      await ws.events(4);
      expect(ws.frames.map((frame) => frame.event_type)).toEqual([
        'agent.started',
        'agent.tool_use',
        'agent.completed',
        'heartbeat',
      ]);
    } finally {
      await ws.close();
    }
  });
});

describe('live stream: liveness', () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await startRelay({ WS_PING_INTERVAL_MS: '300' });
  });
  afterAll(() => relay.stop());

  it('sends {"type":"ping"} frames and drops a client that stops answering', async () => {
    const ws = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${uniqueId('sb')}`);
    await waitFor(() => ws.pings.length >= 2, 'two ping frames');
    expect(ws.pings[0]).toEqual({ type: 'ping' });
    expect(ws.closeCode).toBeUndefined();
    await ws.close();

    const silent = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${uniqueId('sb')}`, { autoPong: false });
    const { code } = await silent.closed(3_000);
    expect(code).toBe(1006);
  });

  it('keeps a client that answered its ping when the process stalls past an interval', async () => {
    const sandbox = uniqueId('sb-stall');
    const ws = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${sandbox}`);
    // The ping frame follows the protocol ping the client has just answered (its pong is written, not yet
    // read by the server). Right then the process stalls, as in a GC pause or a burst of requests, for
    // two intervals: when it wakes the answer is there, only still unread.
    let stalled = false;
    const stall = (data: unknown) => {
      if ((JSON.parse(String(data)) as { type?: string }).type !== 'ping') return;
      ws.ws.off('message', stall);
      const stallEnds = Date.now() + 700;
      while (Date.now() < stallEnds) {
        // busy: no timer, no socket read runs meanwhile
      }
      stalled = true;
    };
    ws.ws.on('message', stall);
    await waitFor(() => stalled, 'a ping frame, then the stall');
    const seen = ws.pings.length;
    await waitFor(
      () => ws.pings.length >= seen + 3 || ws.closeCode !== undefined,
      'three more pings, or the socket to close',
    );
    expect(ws.closeCode).toBeUndefined();
    await postEvent(relay.http, sandbox, { event_type: 'agent.started' });
    expect((await ws.events(1)).map((frame) => frame.event_type)).toEqual(['agent.started']);
    await ws.close();
  });
});

describe('live stream: slow consumers', () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await startRelay({ WS_MAX_BUFFERED_BYTES: String(256 * 1024) });
  });
  afterAll(() => relay.stop());

  it('closes a client that does not read with 4008 and a reason', async () => {
    const sandbox = uniqueId('sb-slow');
    const ws = await WsProbe.connect(`${relay.ws}${wsPath}?entity_ids=${sandbox}`);
    const socket = (ws.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const blob = 'x'.repeat(200 * 1024);
    const batch = Array.from({ length: 60 }, (_, seq) => ({
      event_type: 'agent.file_edited',
      event_data: { seq, diff: blob },
    }));
    const res = await fetch(`${relay.http}/api/v1/sandboxes/${sandbox}/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    expect(res.status).toBe(200);
    // The gateway pushes the published events into the paused socket until its buffer overflows.
    await waitFor(() => relay.standalone.gateway.openClientCount === 0, 'the gateway to give up on the client', 10_000);
    socket.resume();
    const { code, reason } = await ws.closed(5_000);
    expect(code).toBe(4008);
    expect(reason).toMatch(/slow consumer/);
    expect(ws.frames.length).toBeLessThan(60);
  });
});

describe('the edge with Postgres unreachable', () => {
  it('answers 503 to a POST and /readyz is red', async () => {
    const relay = await startRelay({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${CLOSED_PORT}/relay` });
    try {
      const res = await postEvent(relay.http, 'sb-1', { event_type: 'agent.started' });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('service_unavailable');
      expect((await fetch(`${relay.http}/readyz`)).status).toBe(503);
    } finally {
      await relay.stop();
    }
  });
});
