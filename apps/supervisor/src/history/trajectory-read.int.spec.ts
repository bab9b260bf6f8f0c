import { AGENT_EVENT_TYPES, ENTITY_TYPES } from '@sandbox-relay/contracts';
import { createStore, EventRepository, type Store } from '@sandbox-relay/store';
import { testInfra, uniqueId } from '@sandbox-relay/testing';
import { readTrajectoryEvents } from './trajectory-context';

/** The trajectory read against the real event store: newest pages first, returned oldest first. */
describe('readTrajectoryEvents (PostgreSQL)', () => {
  let store: Store;
  let events: EventRepository;
  const list = (query: Parameters<EventRepository['list']>[0]) => events.list(query);

  beforeAll(() => {
    store = createStore({ databaseUrl: testInfra().databaseUrl, poolSize: 2 });
    events = new EventRepository(store.pool);
  });
  afterAll(() => store.close());

  /** Appends `count` events to `sandboxId`, a heartbeat every fifth (not part of a trajectory). */
  async function append(sandboxId: string, count: number, from = 0): Promise<void> {
    await events.appendMany(
      Array.from({ length: count }, (_, offset) => {
        const index = from + offset;
        const data = index % 5 === 0 ? { status: 'running' } : { content: `m${index}` };
        return {
          entityType: ENTITY_TYPES.SANDBOX,
          entityId: sandboxId,
          eventType: index % 5 === 0 ? 'heartbeat' : AGENT_EVENT_TYPES.MESSAGE,
          data,
          dataJson: JSON.stringify(data),
          source: 'agent',
        };
      }),
    );
  }

  it('keeps the newest events of every old sandbox, in id order, and says when older ones were left out', async () => {
    const [first, second, other] = [uniqueId('sb-old'), uniqueId('sb-old'), uniqueId('sb-other')];
    await append(first, 12);
    await append(second, 13, 12);
    await append(other, 3, 100);

    const read = await readTrajectoryEvents(list, [first, second], { pageSize: 3, keep: 8 });
    expect(read.events.map((event) => event.payload.content)).toEqual([
      'm16',
      'm17',
      'm18',
      'm19',
      'm21',
      'm22',
      'm23',
      'm24',
    ]);
    expect(read.events.map((event) => BigInt(event.id))).toEqual(
      [...read.events.map((event) => BigInt(event.id))].sort((a, b) => (a < b ? -1 : 1)),
    );
    expect(read.complete).toBe(false);

    const all = await readTrajectoryEvents(list, [first, second], { pageSize: 3, keep: 100 });
    expect(all.complete).toBe(true);
    expect(all.events).toHaveLength(20);
    expect(all.events[0]!.payload.content).toBe('m1');
  });

  it('is complete when the trajectory is exactly `keep` long, and reads an empty one', async () => {
    const sandbox = uniqueId('sb-exact');
    await append(sandbox, 5);
    expect(await readTrajectoryEvents(list, [sandbox], { pageSize: 2, keep: 4 })).toMatchObject({ complete: true });
    expect(await readTrajectoryEvents(list, [uniqueId('sb-none')])).toEqual({ events: [], complete: true });
  });
});
