import { serializeEnvelope, type EventEnvelope } from '@sandbox-relay/contracts';
import type { ReceivedEvent } from '@sandbox-relay/bus';
import { EventRepository, compareIds, createStore, type NewEvent, type Store } from '@sandbox-relay/store';
import { testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import {
  BURST_SLICE_BYTES,
  LiveSequencer,
  successor,
  type LiveSequencerOptions,
  type SequencerHistory,
} from './live-sequencer';

const logger = testLogger();

function newEvent(entityId: string, n: number): NewEvent {
  const data = { n };
  return {
    entityType: 'sandbox',
    entityId,
    eventType: 'agent.message',
    data,
    dataJson: JSON.stringify(data),
    source: 'agent',
  };
}

const received = (event: EventEnvelope): ReceivedEvent => ({ event, raw: serializeEnvelope(event) });

/** A sequencer over `history` handing out to `deliver`: holes wait 50 ms, store reads take 2 events a page. */
const sequencerOver = (
  history: SequencerHistory,
  deliver: (event: ReceivedEvent) => void,
  options: Partial<LiveSequencerOptions> = {},
): LiveSequencer => new LiveSequencer({ history, deliver, logger, holeWaitMs: 50, pageSize: 2, ...options });

// The sequencer against the real store: other suites write to the same log meanwhile, so what it hands
// out is checked as a whole (strictly increasing, nothing twice) and, for this test's sandbox, exactly.
describe('LiveSequencer', () => {
  let store: Store;
  let repository: EventRepository;
  let sequencer: LiveSequencer;
  let delivered: ReceivedEvent[];

  const mine = (sandbox: string) =>
    delivered.filter(({ event }) => event.entity_id === sandbox).map(({ event }) => event.payload.n);
  const expectInOrderOnce = () => {
    const ids = delivered.map(({ event }) => event.id);
    for (let index = 1; index < ids.length; index++)
      expect(compareIds(ids[index]!, ids[index - 1]!)).toBeGreaterThan(0);
  };

  beforeAll(() => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    repository = new EventRepository(store.pool);
  });
  afterAll(() => store.close());

  beforeEach(async () => {
    delivered = [];
    sequencer = sequencerOver(repository, (event) => delivered.push(event));
    sequencer.start();
    await waitFor(() => sequencer.started, 'the sequencer to read where to start');
    // A first event is then handed out live.
    const sandbox = uniqueId('sb-start');
    const [event] = await repository.appendMany([newEvent(sandbox, 0)]);
    sequencer.push(received(event!));
    await waitFor(() => mine(sandbox).length === 1, 'the sequencer to start');
  });
  afterEach(() => sequencer.stop());

  it('hands out events that arrived out of order in id order, each once', async () => {
    const sandbox = uniqueId('sb-order');
    const events = await repository.appendMany([1, 2, 3, 4].map((n) => newEvent(sandbox, n)));
    for (const index of [2, 0, 3, 1, 2, 0]) sequencer.push(received(events[index]!));
    await waitFor(() => mine(sandbox).length >= 4, 'all four events');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(mine(sandbox)).toEqual([1, 2, 3, 4]);
    expectInOrderOnce();
  });

  it('hands a long held run out a slice at a time, pacing between slices', async () => {
    // 200 events of 2 KB (400 KB) held behind a hole: handed out at once they would land whole in every
    // matching client's send buffer; the gateway's pace lets its sockets take each slice first.
    sequencer.stop();
    delivered = [];
    const slices: number[] = [];
    let bytes = 0;
    sequencer = sequencerOver(
      repository,
      (event) => {
        delivered.push(event);
        bytes += event.raw.length;
      },
      {
        pace: async () => {
          slices.push(bytes);
          bytes = 0;
          await new Promise((resolve) => setImmediate(resolve));
        },
      },
    );
    sequencer.start();
    await waitFor(() => sequencer.started, 'the sequencer to read where to start');
    const sandbox = uniqueId('sb-burst');
    const text = 'x'.repeat(2048);
    const events = await repository.appendMany(
      Array.from({ length: 200 }, (_, n) => ({
        ...newEvent(sandbox, n),
        data: { n, text },
        dataJson: JSON.stringify({ n, text }),
      })),
    );
    // Everything but the first arrives; the first is read from the store after the hole's wait.
    for (const event of events.slice(1)) sequencer.push(received(event));
    await waitFor(() => mine(sandbox).length === 200, 'the held run');
    expect(mine(sandbox)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    expectInOrderOnce();
    const eventBytes = received(events[1]!).raw.length;
    expect(slices.length).toBeGreaterThanOrEqual(Math.floor((200 * eventBytes) / (BURST_SLICE_BYTES + eventBytes)));
    for (const slice of slices) expect(slice).toBeLessThanOrEqual(BURST_SLICE_BYTES + eventBytes);
  });

  it('reads a hole whose publish never comes from the store, then hands out what was held behind it', async () => {
    const sandbox = uniqueId('sb-hole');
    const events = await repository.appendMany([1, 2, 3, 4, 5].map((n) => newEvent(sandbox, n)));
    // 2 and 3 are never published (an ingest replica died between commit and publish).
    for (const index of [0, 3, 4]) sequencer.push(received(events[index]!));
    await waitFor(() => mine(sandbox).length >= 5, 'the hole filled from the store');
    expect(mine(sandbox)).toEqual([1, 2, 3, 4, 5]);
    // A late publish of what the store already gave is dropped.
    sequencer.push(received(events[1]!));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(mine(sandbox)).toEqual([1, 2, 3, 4, 5]);
    expectInOrderOnce();
    expect(sequencer.heldCount).toBe(0);
  });

  it('reads only the hole from the store, not the events held behind it', async () => {
    const sandbox = uniqueId('sb-gap');
    const fromStore: string[] = [];
    const counting: SequencerHistory = {
      lastCommittedId: () => repository.lastCommittedId(),
      list: async (query) => {
        const page = await repository.list(query);
        fromStore.push(...page.filter((event) => event.entity_id === sandbox).map((event) => event.id));
        return page;
      },
    };
    const own: ReceivedEvent[] = [];
    const gapped = sequencerOver(counting, (event) => own.push(event));
    gapped.start();
    try {
      await waitFor(() => gapped.started, 'the sequencer to read where to start');
      const events = await repository.appendMany(Array.from({ length: 200 }, (_, n) => newEvent(sandbox, n + 1)));
      // The second event's publish never comes; the 198 after it arrive and are held.
      for (const [index, event] of events.entries()) if (index !== 1) gapped.push(received(event));
      const ownIds = () => own.filter(({ event }) => event.entity_id === sandbox).map(({ event }) => event.payload.n);
      await waitFor(() => ownIds().length >= 200, 'every event handed out');
      expect(ownIds()).toEqual(Array.from({ length: 200 }, (_, n) => n + 1));
      expect(fromStore).toEqual([events[1]!.id]);
    } finally {
      gapped.stop();
    }
  });

  it('after the subscription comes back, reads everything published while it was down', async () => {
    const sandbox = uniqueId('sb-outage');
    await repository.appendMany([1, 2, 3].map((n) => newEvent(sandbox, n)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(mine(sandbox)).toEqual([]);
    sequencer.restored();
    await waitFor(() => mine(sandbox).length >= 3, 'the catch-up');
    expect(mine(sandbox)).toEqual([1, 2, 3]);
    expectInOrderOnce();
  });

  it('owes a catch-up the store could not answer, and makes it once the store answers again', async () => {
    const sandbox = uniqueId('sb-retry');
    let failNext = false;
    const flaky: SequencerHistory = {
      lastCommittedId: () => repository.lastCommittedId(),
      list: (query) => {
        if (!failNext) return repository.list(query);
        failNext = false;
        return Promise.reject(new Error('connection terminated'));
      },
    };
    const retrying = sequencerOver(flaky, (event) => delivered.push(event), { pageSize: 100, retryMs: 50 });
    retrying.start();
    try {
      await waitFor(() => retrying.started, 'the sequencer to read where to start');
      delivered = [];
      await repository.appendMany([1, 2].map((n) => newEvent(sandbox, n)));
      failNext = true;
      retrying.restored();
      await waitFor(() => mine(sandbox).length >= 2, 'the catch-up, retried');
      expect(mine(sandbox)).toEqual([1, 2]);
      expectInOrderOnce();
    } finally {
      retrying.stop();
    }
  });

  it('starts after the newest stored event: what was stored before is not handed out', async () => {
    const sandbox = uniqueId('sb-before');
    const [old] = await repository.appendMany([newEvent(sandbox, 1)]);
    const fresh = sequencerOver(repository, (event) => delivered.push(event), { pageSize: 100 });
    delivered = [];
    fresh.start();
    try {
      await waitFor(() => fresh.started, 'the sequencer to read where to start');
      const [next] = await repository.appendMany([newEvent(sandbox, 2)]);
      fresh.push(received(old!));
      fresh.push(received(next!));
      await waitFor(() => mine(sandbox).length >= 1, 'the new event');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(mine(sandbox)).toEqual([2]);
    } finally {
      fresh.stop();
    }
  });
});

describe('successor', () => {
  it('adds one to a decimal id', () => {
    expect(successor('0')).toBe('1');
    expect(successor('41')).toBe('42');
    expect(successor('199')).toBe('200');
    expect(successor('999')).toBe('1000');
    expect(successor('9007199254740993')).toBe('9007199254740994');
  });
});
