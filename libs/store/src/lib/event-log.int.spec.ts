import type { EventEnvelope } from '@sandbox-relay/contracts';
import { ServiceUnavailableError } from '@sandbox-relay/service-kit';
import { CLOSED_PORT, testInfra, testLogger, uniqueId } from '@sandbox-relay/testing';
import { EventLog } from './event-log';
import { EventRepository, compareIds, type NewEvent } from './event-repository';
import { holdIdCounter } from './spec-support';
import { createStore, type Store } from './store';

function newEvent(entityId: string, eventType = 'agent.tool_use', data: Record<string, unknown> = {}): NewEvent {
  return { entityType: 'sandbox', entityId, eventType, data, dataJson: JSON.stringify(data), source: 'agent' };
}

/** Counts the statements the repository runs, to see group commit at work. */
class CountingRepository extends EventRepository {
  statements = 0;
  override async appendMany(events: readonly NewEvent[]): Promise<EventEnvelope[]> {
    this.statements += 1;
    return super.appendMany(events);
  }
}

describe('EventLog (group commit against PostgreSQL)', () => {
  let store: Store;
  beforeAll(() => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
  });
  afterAll(() => store.close());

  it('stores concurrent appends in fewer statements, ids in acceptance order', async () => {
    const repository = new CountingRepository(store.pool);
    const committed: EventEnvelope[] = [];
    const log = new EventLog(repository, { onCommitted: (events) => committed.push(...events) });
    const sandbox = uniqueId('sb');
    const appends = Array.from({ length: 200 }, (_, seq) => log.append([newEvent(sandbox, 'agent.tool_use', { seq })]));
    const results = (await Promise.all(appends)).map(([stored]) => stored!);

    expect(repository.statements).toBeLessThan(200);
    expect(repository.statements).toBeGreaterThanOrEqual(2);
    const ids = results.map((event) => event.id);
    expect([...ids].sort(compareIds)).toEqual(ids);
    expect(new Set(ids).size).toBe(200);
    expect(results.map((event) => event.payload.seq)).toEqual(Array.from({ length: 200 }, (_, seq) => seq));
    expect(committed.map((event) => event.id)).toEqual(ids);

    const stored = await repository.list({ entityIds: [sandbox], limit: 1000 });
    expect(stored.map((event) => event.payload.seq)).toEqual(Array.from({ length: 200 }, (_, seq) => seq));
  });

  it('keeps a multi-event append contiguous and in order', async () => {
    const log = new EventLog(new EventRepository(store.pool));
    const sandbox = uniqueId('sb');
    const [batch, single] = await Promise.all([
      log.append(Array.from({ length: 50 }, (_, seq) => newEvent(sandbox, 'agent.message', { seq }))),
      log.append([newEvent(sandbox)]),
    ]);
    const ids = batch!.map((event) => BigInt(event.id));
    ids.forEach((id, index) => index > 0 && expect(id).toBe(ids[index - 1]! + 1n));
    expect(batch!.map((event) => event.payload.seq)).toEqual(Array.from({ length: 50 }, (_, seq) => seq));
    expect(single).toHaveLength(1);
  });

  it('has two statements in flight, never two holding the same entity', async () => {
    const repository = new CountingRepository(store.pool);
    const log = new EventLog(repository, { maxInFlight: 2, overlapAt: 1 });
    const [a, b, c] = [uniqueId('sb-a'), uniqueId('sb-b'), uniqueId('sb-c')];
    // The counter is held (a slow commit elsewhere): statements sent wait in Postgres.
    const counter = await holdIdCounter(store.pool);
    const appends: Array<Promise<EventEnvelope[]>> = [];
    try {
      appends.push(log.append([newEvent(a)]));
      appends.push(log.append([newEvent(b)]));
      // A third entity waits in the process (two are in flight); a second append of `a` waits for `a`.
      appends.push(log.append([newEvent(a, 'agent.message', { second: true })]), log.append([newEvent(c)]));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(repository.statements).toBe(2);
      expect(log.queuedEventCount).toBe(2); // the two not sent
    } finally {
      await counter.release();
    }
    const results = await Promise.all(appends);
    const first = results[0]![0];
    const second = results[2]![0];
    // `a`'s second append went in a later statement than its first, so its id is larger.
    expect(compareIds(second!.id, first!.id)).toBeGreaterThan(0);
    expect(repository.statements).toBeGreaterThanOrEqual(3);
  });

  it('starts a second statement beside one in flight only once `overlapAt` events wait', async () => {
    const repository = new CountingRepository(store.pool);
    const log = new EventLog(repository, { maxInFlight: 2, overlapAt: 10 });
    const sandboxes = Array.from({ length: 12 }, (_, index) => uniqueId(`sb-ov${index}`));
    const counter = await holdIdCounter(store.pool);
    const appends: Array<Promise<EventEnvelope[]>> = [];
    const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
    try {
      appends.push(log.append([newEvent(sandboxes[0]!)]));
      // Nine more wait behind the one in flight: fewer than ten, so no second statement.
      for (const sandbox of sandboxes.slice(1, 10)) appends.push(log.append([newEvent(sandbox)]));
      await settle();
      expect(repository.statements).toBe(1);
      expect(log.queuedEventCount).toBe(9);
      // The tenth waiting one starts a second statement, which takes all ten.
      appends.push(log.append([newEvent(sandboxes[10]!)]));
      await settle();
      expect(repository.statements).toBe(2);
      expect(log.queuedEventCount).toBe(0);
      appends.push(log.append([newEvent(sandboxes[11]!)]));
      await settle();
      expect(repository.statements).toBe(2); // two in flight: the most
    } finally {
      await counter.release();
    }
    const results = (await Promise.all(appends)).map(([stored]) => stored!);
    expect(results).toHaveLength(12);
    expect(repository.statements).toBe(3);
    // Accepted in this order, committed in this order.
    const ids = results.map((event) => event.id);
    expect([...ids].sort(compareIds)).toEqual(ids);
  });

  it('draws ids in commit order across writers: a reader following `after` never misses one (two replicas)', async () => {
    // Two stores stand for two ingest replicas, each with two statements in flight.
    const other = createStore({ databaseUrl: testInfra().databaseUrl });
    const logs = [
      new EventLog(new EventRepository(store.pool), { maxInFlight: 2, overlapAt: 1 }),
      new EventLog(new EventRepository(other.pool), { maxInFlight: 2, overlapAt: 1 }),
    ];
    const sandboxes = Array.from({ length: 20 }, (_, index) => uniqueId(`sb-co${index}`));
    const reader = new EventRepository(store.pool);
    const seen: string[] = [];
    let cursor = '0';
    let writing = true;
    const PAGE = 100;
    const follow = async () => {
      // A resuming client: read what is after the cursor, move the cursor to the last id read.
      const page = await reader.list({ entityIds: sandboxes, after: cursor, limit: PAGE });
      for (const event of page) seen.push(event.id);
      if (page.length > 0) cursor = page[page.length - 1]!.id;
      return page.length;
    };
    try {
      const writers = (async () => {
        const pending: Array<Promise<EventEnvelope[]>> = [];
        for (let round = 0; round < 60; round++) {
          for (let index = 0; index < sandboxes.length; index++)
            pending.push(logs[(round + index) % 2]!.append([newEvent(sandboxes[index]!, 'agent.message', { round })]));
          if (round % 10 === 9) await Promise.all(pending.splice(0));
          else await new Promise((resolve) => setImmediate(resolve));
        }
        return (await Promise.all(pending)).length;
      })().finally(() => (writing = false));
      while (writing) await follow();
      await writers;
      // The rest, page by page, after the last cursor.
      while ((await follow()) === PAGE);
      const stored = await reader.list({ entityIds: sandboxes, limit: 5000 });
      expect(stored).toHaveLength(sandboxes.length * 60);
      expect(seen).toEqual(stored.map((event) => event.id));
    } finally {
      await Promise.all(logs.map((log) => log.whenIdle()));
      await other.close();
    }
  });

  it('fails only the append Postgres refuses, not the rest of its group', async () => {
    const log = new EventLog(new EventRepository(store.pool), { logger: testLogger() });
    const sandbox = uniqueId('sb');
    // Validation at the edge refuses this; the log must still isolate it if one slips through.
    const poisoned: NewEvent = { ...newEvent(sandbox), dataJson: '{"bad":"\\u0000"}' };
    const outcomes = await Promise.allSettled([
      log.append([newEvent(sandbox, 'a')]),
      log.append([newEvent(sandbox, 'b')]),
      log.append([poisoned]),
      log.append([newEvent(sandbox, 'c')]),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const stored = await new EventRepository(store.pool).list({ entityIds: [sandbox], limit: 10 });
    expect(stored.map((event) => event.event_type)).toEqual(['a', 'b', 'c']);
  });

  it('rejects with ServiceUnavailableError when Postgres is unreachable', async () => {
    const dead = createStore({
      databaseUrl: `postgresql://postgres@127.0.0.1:${CLOSED_PORT}/x`,
      connectTimeoutMs: 500,
    });
    const log = new EventLog(new EventRepository(dead.pool));
    await expect(log.append([newEvent('sb-x')])).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(dead.ping()).rejects.toThrow();
    await dead.close();
  });

  it('answers 503 at once instead of queueing without bound when the log is behind', async () => {
    const log = new EventLog(new EventRepository(store.pool), { maxQueuedEvents: 10 });
    const sandbox = uniqueId('sb');
    const first = log.append([newEvent(sandbox)]); // in flight: not counted as waiting
    const waiting = log.append(Array.from({ length: 10 }, () => newEvent(sandbox)));
    await expect(log.append([newEvent(sandbox)])).rejects.toBeInstanceOf(ServiceUnavailableError);
    await Promise.all([first, waiting]);
    await expect(log.append([newEvent(sandbox)])).resolves.toHaveLength(1);
  });

  it('whenIdle waits for the in-flight group', async () => {
    const log = new EventLog(new EventRepository(store.pool));
    let done = false;
    void log.append([newEvent(uniqueId('sb'))]).then(() => (done = true));
    await log.whenIdle();
    expect(done).toBe(true);
  });
});

describe('EventRepository.list', () => {
  let store: Store;
  let repository: EventRepository;
  const sandboxA = uniqueId('sb-a');
  const sandboxB = uniqueId('sb-b');
  let ids: string[] = [];

  beforeAll(async () => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    repository = new EventRepository(store.pool);
    const stored = await repository.appendMany([
      newEvent(sandboxA, 'agent.started'),
      newEvent(sandboxB, 'agent.started'),
      newEvent(sandboxA, 'heartbeat'),
      { ...newEvent(sandboxA, 'TASK_COMPLETED'), entityType: 'task' },
      newEvent(sandboxA, 'agent.completed'),
    ]);
    ids = stored.map((event) => event.id);
  });
  afterAll(() => store.close());

  it('filters by entity, type and cursor, ascending', async () => {
    const aSandbox = await repository.list({ entityTypes: ['sandbox'], entityIds: [sandboxA], limit: 10 });
    expect(aSandbox.map((event) => event.event_type)).toEqual(['agent.started', 'heartbeat', 'agent.completed']);
    const typed = await repository.list({ entityIds: [sandboxA, sandboxB], eventTypes: ['agent.started'], limit: 10 });
    expect(typed.map((event) => event.entity_id)).toEqual([sandboxA, sandboxB]);
    const after = await repository.list({ entityIds: [sandboxA], after: ids[2], limit: 10 });
    expect(after.map((event) => event.id)).toEqual([ids[3], ids[4]]);
    const page = await repository.list({ entityIds: [sandboxA], limit: 2 });
    expect(page.map((event) => event.id)).toEqual([ids[0], ids[2]]);
  });

  it('reads the newest first, below a cursor', async () => {
    const newest = await repository.list({ entityIds: [sandboxA], order: 'desc', limit: 2 });
    expect(newest.map((event) => event.id)).toEqual([ids[4], ids[3]]);
    const older = await repository.list({ entityIds: [sandboxA], order: 'desc', before: ids[3], limit: 10 });
    expect(older.map((event) => event.id)).toEqual([ids[2], ids[0]]);
    const window = await repository.list({ entityIds: [sandboxA], after: ids[0], before: ids[4], limit: 10 });
    expect(window.map((event) => event.id)).toEqual([ids[2], ids[3]]);
  });

  it('returns the envelope shape', async () => {
    const [first] = await repository.list({ entityIds: [sandboxB], limit: 1 });
    expect(first).toEqual({
      id: ids[1],
      event_type: 'agent.started',
      entity_type: 'sandbox',
      entity_id: sandboxB,
      payload: {},
      source: 'agent',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });
});

describe('EventRepository.appendMany', () => {
  let store: Store;
  beforeAll(() => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
  });
  afterAll(() => store.close());

  it('answers exactly what a read of the rows gives: ids, data, source and timestamp', async () => {
    const repository = new EventRepository(store.pool);
    const sandbox = uniqueId('sb-answer');
    const appended = await repository.appendMany([
      newEvent(sandbox, 'agent.message', {
        text: 'a "quoted" \\ line\n',
        emoji: '🦀',
        nested: { list: [1, null, true] },
      }),
      { ...newEvent(sandbox, 'heartbeat'), source: null },
      newEvent(sandbox, 'agent.tool_use', {}),
    ]);
    expect(await repository.list({ entityIds: [sandbox], limit: 10 })).toEqual(appended);
  });

  it('stamps an event when it gets its id, not when its statement began: one that waited for the counter is not stored as old', async () => {
    // Another writer's transaction holds the id counter (a long commit, a connection cut between
    // Execute and Sync) while this append waits for it. The supervisor measures silence from a
    // heartbeat's timestamp, so a beat stamped with its statement's start would look that much older.
    const repository = new EventRepository(store.pool);
    const sandbox = uniqueId('sb-stamp');
    const counter = await holdIdCounter(store.pool);
    try {
      const append = repository.appendMany([newEvent(sandbox, 'heartbeat')]);
      await new Promise((resolve) => setTimeout(resolve, 800));
      const released = Date.now();
      await counter.release();
      const [stored] = await append;
      expect(Date.parse(stored!.timestamp)).toBeGreaterThanOrEqual(released - 50);
      // What a later read gives is that same stamp.
      expect((await repository.list({ entityIds: [sandbox], limit: 1 }))[0]?.timestamp).toBe(stored!.timestamp);
    } finally {
      await counter.release();
    }
  });

  it('keeps timestamps in id order across writers', async () => {
    const repository = new EventRepository(store.pool);
    const sandbox = uniqueId('sb-order');
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        for (let i = 0; i < 10; i++) await repository.appendMany([newEvent(sandbox, 'agent.tool_use', { writer, i })]);
      }),
    );
    const stored = await repository.list({ entityIds: [sandbox], limit: 100 });
    expect(stored).toHaveLength(80);
    for (let i = 1; i < stored.length; i++)
      expect(Date.parse(stored[i]!.timestamp)).toBeGreaterThanOrEqual(Date.parse(stored[i - 1]!.timestamp));
  });
});

describe('compareIds', () => {
  it('orders decimal ids numerically', () => {
    expect(['10', '9', '100', '11'].sort(compareIds)).toEqual(['9', '10', '11', '100']);
  });
});
