import { testLogger, waitFor } from '@sandbox-relay/testing';
import { EventOutbox, type EventSender } from './event-outbox';
import type { OutboundEvent, SendOutcome } from './relay-http';

const event = (n: number, type = 'agent.message'): OutboundEvent => ({
  event_type: type,
  event_data: { n },
  source: 'agent',
});
const numbers = (events: readonly OutboundEvent[]) => events.map((e) => e.event_data.n);
/** Waits for the outbox to empty on its own (`flush` would cut a backoff short, which these tests measure). */
const drained = (outbox: EventOutbox) => waitFor(() => outbox.stats().queued === 0, 'the outbox to drain');

/** A sender scripted per call; records every request it was given. */
class ScriptedSender {
  readonly requests: OutboundEvent[][] = [];
  readonly accepted: OutboundEvent[] = [];
  constructor(private readonly answer: (events: readonly OutboundEvent[], call: number) => SendOutcome) {}
  readonly send: EventSender = async (events) => {
    this.requests.push([...events]);
    const outcome = this.answer(events, this.requests.length);
    if (outcome.kind === 'ok') this.accepted.push(...events);
    return outcome;
  };
}

/** Sleeps that return at once but are recorded, so backoff is asserted without waiting for it. */
function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('EventOutbox', () => {
  it('keeps order across failed attempts and sends the backlog as batches', async () => {
    const sender = new ScriptedSender((_events, call) =>
      call <= 3 ? { kind: 'retry', reason: 'ECONNREFUSED' } : { kind: 'ok' },
    );
    const { sleep } = recordingSleep();
    const outbox = new EventOutbox({ send: sender.send, logger: testLogger(), sleep, maxBatch: 4 });
    for (let n = 1; n <= 10; n += 1) outbox.push(event(n));
    await drained(outbox);
    expect(numbers(sender.accepted)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The first attempt held the one event queued when it started; every later one took the head, 4 at most.
    expect(sender.requests.map((request) => numbers(request)[0])).toEqual([1, 1, 1, 1, 5, 9]);
    expect(sender.requests.map((request) => request.length)).toEqual([1, 4, 4, 4, 4, 2]);
    expect(outbox.stats()).toEqual({ queued: 0, sent: 10, dropped: 0, rejected: 0 });
  });

  it('bounds a batch by bytes too, so a backlog of big diffs does not hit the relay body limit', async () => {
    let open = false;
    const sender = new ScriptedSender(() => (open ? { kind: 'ok' } : { kind: 'retry', reason: 'down' }));
    const outbox = new EventOutbox({
      send: sender.send,
      logger: testLogger(),
      maxBatchBytes: 250,
      sleep: async () => void (open = true),
    });
    for (let n = 1; n <= 5; n += 1) outbox.push(event(n), 100);
    await drained(outbox);
    expect(sender.requests.slice(1).map(numbers)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('bounds the bytes held as well as the count', async () => {
    const sender = new ScriptedSender(() => ({ kind: 'retry', reason: 'down' }));
    const outbox = new EventOutbox({
      send: sender.send,
      logger: testLogger(),
      maxBytes: 300,
      sleep: () => new Promise(() => undefined),
    });
    outbox.push(event(1), 100);
    await waitFor(() => sender.requests.length === 1, 'the first attempt');
    outbox.push(event(2, 'heartbeat'), 100);
    outbox.push(event(3), 100);
    outbox.push(event(4), 100);
    expect(outbox.stats()).toMatchObject({ queued: 3, dropped: 1 });
    outbox.push(event(5), 250);
    expect(outbox.stats()).toMatchObject({ queued: 1, dropped: 4 });
    outbox.close();
  });

  it('backs off exponentially with jitter, capped', async () => {
    const sender = new ScriptedSender((_events, call) =>
      call <= 8 ? { kind: 'retry', reason: '503' } : { kind: 'ok' },
    );
    const { waits, sleep } = recordingSleep();
    const outbox = new EventOutbox({
      send: sender.send,
      logger: testLogger(),
      sleep,
      random: () => 1,
      backoffBaseMs: 100,
      backoffCapMs: 5_000,
    });
    outbox.push(event(1));
    await drained(outbox);
    expect(waits).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    const low = new EventOutbox({
      send: new ScriptedSender((_e, call) => (call === 1 ? { kind: 'retry', reason: 'x' } : { kind: 'ok' })).send,
      logger: testLogger(),
      sleep,
      random: () => 0,
    });
    waits.length = 0;
    low.push(event(1));
    await drained(low);
    expect(waits).toEqual([50]);
  });

  it('drops a single event the relay refuses with a 4xx instead of retrying it', async () => {
    const sender = new ScriptedSender((events) =>
      events[0]?.event_data.n === 2 ? { kind: 'reject', status: 422, reason: 'bad' } : { kind: 'ok' },
    );
    const outbox = new EventOutbox({ send: sender.send, logger: testLogger(), sleep: async () => undefined });
    outbox.push(event(1));
    await drained(outbox);
    outbox.push(event(2));
    await drained(outbox);
    outbox.push(event(3));
    await drained(outbox);
    expect(numbers(sender.accepted)).toEqual([1, 3]);
    expect(sender.requests.filter((request) => request[0]?.event_data.n === 2)).toHaveLength(1);
    expect(outbox.stats()).toMatchObject({ sent: 2, rejected: 1, queued: 0 });
  });

  it('resends a refused batch one by one so only the bad event is lost, in order', async () => {
    let open = false;
    const sender = new ScriptedSender((events) => {
      if (!open) return { kind: 'retry', reason: 'down' };
      return events.some((e) => e.event_data.n === 3) ? { kind: 'reject', status: 422, reason: 'bad' } : { kind: 'ok' };
    });
    const outbox = new EventOutbox({ send: sender.send, logger: testLogger(), sleep: async () => void (open = true) });
    for (let n = 1; n <= 5; n += 1) outbox.push(event(n));
    await drained(outbox);
    expect(numbers(sender.accepted)).toEqual([1, 2, 4, 5]);
    expect(outbox.stats()).toMatchObject({ sent: 4, rejected: 1 });
  });

  it('bounds memory: past the limit the oldest heartbeats go first, then the oldest events', async () => {
    let open = false;
    const sender = new ScriptedSender(() => (open ? { kind: 'ok' } : { kind: 'retry', reason: 'down' }));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const outbox = new EventOutbox({ send: sender.send, logger: testLogger(), maxEvents: 10, sleep: () => gate });
    outbox.push(event(1));
    await waitFor(() => sender.requests.length === 1, 'the first attempt');
    for (let n = 2; n <= 10; n += 1) outbox.push(event(n, n % 2 === 0 ? 'heartbeat' : 'agent.message'));
    for (let n = 11; n <= 15; n += 1) outbox.push(event(n));
    expect(outbox.stats()).toMatchObject({ queued: 10, dropped: 5 });
    for (let n = 16; n <= 17; n += 1) outbox.push(event(n));
    open = true;
    release();
    await drained(outbox);
    // 11..15 pushed out the heartbeats 2, 4, 6, 8, 10; with none left, 16 and 17 pushed out 1 and 3.
    expect(numbers(sender.accepted)).toEqual([5, 7, 9, 11, 12, 13, 14, 15, 16, 17]);
    expect(outbox.stats().dropped).toBe(7);
  });

  it('flush cuts a pending backoff short, so a relay that is back is tried at once', async () => {
    let open = false;
    const sender = new ScriptedSender(() => (open ? { kind: 'ok' } : { kind: 'retry', reason: 'down' }));
    const outbox = new EventOutbox({
      send: sender.send,
      logger: testLogger(),
      backoffBaseMs: 60_000,
      backoffCapMs: 60_000,
    });
    outbox.push(event(1));
    await waitFor(() => sender.requests.length === 1, 'the first attempt');
    open = true;
    expect(await outbox.flush(1_000)).toBe(true);
    expect(numbers(sender.accepted)).toEqual([1]);
  });

  it('flush gives up at its deadline while the relay stays down', async () => {
    const sender = new ScriptedSender(() => ({ kind: 'retry', reason: 'down' }));
    const outbox = new EventOutbox({ send: sender.send, logger: testLogger(), backoffBaseMs: 5, backoffCapMs: 10 });
    outbox.push(event(1));
    const started = Date.now();
    expect(await outbox.flush(100)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(outbox.stats().queued).toBe(1);
    outbox.close();
  });
});
