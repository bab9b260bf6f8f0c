import { testInfra, uniqueId } from '@sandbox-relay/testing';
import { EventRepository, type NewEvent } from './event-repository';
import { createStore, type Store } from './store';

function newEvent(entityType: string, entityId: string, seq: number): NewEvent {
  const data = { seq };
  return { entityType, entityId, eventType: 'relay.canary', data, dataJson: JSON.stringify(data), source: 'test' };
}

describe('EventRepository.deleteEntityEventsBefore (against PostgreSQL)', () => {
  let store: Store;
  let repository: EventRepository;
  beforeAll(() => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    repository = new EventRepository(store.pool);
  });
  afterAll(() => store.close());

  /** Moves the given events' created_at back by `ageMs`. */
  const age = async (ids: string[], ageMs: number) => {
    await store.pool.query(
      `UPDATE sandbox_events SET created_at = created_at - $2 * interval '1 millisecond' WHERE id = ANY($1::bigint[])`,
      [ids, ageMs],
    );
  };
  const remaining = async (entityId: string) =>
    (await repository.list({ entityIds: [entityId], limit: 100 })).map((event) => ({
      type: event.entity_type,
      seq: event.payload['seq'],
    }));

  it("deletes only that entity's rows older than the bound, and counts them", async () => {
    const target = uniqueId('retention');
    const other = uniqueId('retention-other');
    const stored = await repository.appendMany([
      newEvent('sandbox', target, 1),
      newEvent('sandbox', target, 2),
      newEvent('sandbox', target, 3),
      newEvent('sandbox', other, 1),
      // Same id, another entity type: a different entity.
      newEvent('task', target, 1),
    ]);
    const ids = stored.map((event) => event.id);
    // The first two of the target, and every other entity's row, are two hours old.
    await age([ids[0]!, ids[1]!, ids[3]!, ids[4]!], 2 * 3_600_000);

    const deleted = await repository.deleteEntityEventsBefore('sandbox', target, new Date(Date.now() - 3_600_000));

    expect(deleted).toBe(2);
    expect(await remaining(target)).toEqual([
      { type: 'sandbox', seq: 3 },
      { type: 'task', seq: 1 },
    ]);
    expect(await remaining(other)).toEqual([{ type: 'sandbox', seq: 1 }]);
  });

  it('deletes nothing when every row is younger than the bound', async () => {
    const target = uniqueId('retention-young');
    await repository.appendMany([newEvent('sandbox', target, 1)]);
    expect(await repository.deleteEntityEventsBefore('sandbox', target, new Date(Date.now() - 3_600_000))).toBe(0);
    expect(await remaining(target)).toEqual([{ type: 'sandbox', seq: 1 }]);
  });
});
