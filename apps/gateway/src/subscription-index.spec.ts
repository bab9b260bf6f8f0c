import { createEventFilter } from '@sandbox-relay/contracts';
import { omoiosFilter, storedEventTypes } from './omoios-session';
import { SubscriptionIndex, type Routable, type SubscriberFilter } from './subscription-index';

interface Sub {
  name: string;
  filter: SubscriberFilter;
}

function sub(name: string, query: Partial<Record<'entity_types' | 'entity_ids' | 'event_types', string[]>>): Sub {
  return { name, filter: createEventFilter({ entity_types: [], entity_ids: [], event_types: [], ...query }) };
}

function matches(index: SubscriptionIndex<Sub>, event: Routable) {
  const hits: string[] = [];
  index.forEachMatch(event, (subscriber) => hits.push(subscriber.name));
  return hits.sort();
}

const toolUse = (entity_id: string) => ({ entity_type: 'sandbox', entity_id, event_type: 'agent.tool_use' });

describe('SubscriptionIndex', () => {
  it('finds keyed subscribers by entity id and checks unkeyed ones', () => {
    const index = new SubscriptionIndex<Sub>();
    index.add(sub('a-only', { entity_ids: ['a'] }));
    index.add(sub('a-or-b', { entity_ids: ['a', 'b'] }));
    index.add(sub('sandboxes', { entity_types: ['sandbox'] }));
    index.add(sub('tasks', { entity_types: ['task'] }));
    index.add(sub('a-heartbeats', { entity_ids: ['a'], event_types: ['heartbeat'] }));
    index.add(sub('everything', {}));

    expect(matches(index, toolUse('a'))).toEqual(['a-only', 'a-or-b', 'everything', 'sandboxes']);
    expect(matches(index, toolUse('b'))).toEqual(['a-or-b', 'everything', 'sandboxes']);
    expect(matches(index, toolUse('c'))).toEqual(['everything', 'sandboxes']);
    expect(matches(index, { entity_type: 'sandbox', entity_id: 'a', event_type: 'heartbeat' })).toEqual([
      'a-heartbeats',
      'a-only',
      'a-or-b',
      'everything',
      'sandboxes',
    ]);
    expect(index.size).toBe(6);
  });

  it('forgets removed subscribers, and removing twice is harmless', () => {
    const index = new SubscriptionIndex<Sub>();
    const keyed = sub('keyed', { entity_ids: ['a', 'b'] });
    const unkeyed = sub('unkeyed', {});
    index.add(keyed);
    index.add(unkeyed);
    index.remove(keyed);
    index.remove(keyed);
    expect(matches(index, toolUse('a'))).toEqual(['unkeyed']);
    index.remove(unkeyed);
    index.remove(unkeyed);
    expect(matches(index, toolUse('a'))).toEqual([]);
    expect(index.size).toBe(0);
  });

  it('visits a subscriber once even when it names an id twice', () => {
    const index = new SubscriptionIndex<Sub>();
    index.add(sub('dup', { entity_ids: ['a', 'a'] }));
    expect(matches(index, toolUse('a'))).toEqual(['dup']);
  });
});

describe('SubscriptionIndex with original-protocol filters', () => {
  const omoios = (name: string, event_types: string[], entity_ids: string[] = []): Sub => ({
    name,
    filter: omoiosFilter({ entity_types: [], entity_ids, event_types }),
  });
  const worker = { entity_type: 'sandbox', entity_id: 'a', event_type: 'agent.completed', source: 'agent' };
  const relayNamed = {
    entity_type: 'sandbox',
    entity_id: 'a',
    event_type: 'SANDBOX_MESSAGE_QUEUED',
    source: 'message-queue',
  };
  const relayBare = { entity_type: 'sandbox', entity_id: 'a', event_type: 'agent.completed', source: 'supervisor' };

  it('matches a worker event by its original name, SANDBOX_<type>, and by its stored type', () => {
    const index = new SubscriptionIndex<Sub>();
    index.add(omoios('original-name', ['SANDBOX_agent.completed']));
    index.add(omoios('original-name-keyed', ['SANDBOX_agent.completed'], ['a']));
    index.add(omoios('stored-name', ['agent.completed']));
    index.add(omoios('other', ['SANDBOX_agent.started']));
    expect(matches(index, worker)).toEqual(['original-name', 'original-name-keyed', 'stored-name']);
  });

  it("does not translate the relay's own events: they keep their name on both protocols", () => {
    const index = new SubscriptionIndex<Sub>();
    index.add(omoios('queued', ['SANDBOX_MESSAGE_QUEUED']));
    index.add(omoios('original-name', ['SANDBOX_agent.completed']));
    expect(matches(index, relayNamed)).toEqual(['queued']);
    // A relay (or taken-in) event named agent.completed is not the worker's SANDBOX_agent.completed.
    expect(matches(index, relayBare)).toEqual([]);
  });

  it('leaves the relay protocol exactly as it was: SANDBOX_<type> names nothing there', () => {
    const index = new SubscriptionIndex<Sub>();
    index.add(sub('relay', { event_types: ['SANDBOX_agent.completed'] }));
    expect(matches(index, worker)).toEqual([]);
    expect(
      storedEventTypes(
        omoiosFilter({
          entity_types: [],
          entity_ids: [],
          event_types: ['SANDBOX_agent.completed', 'TASK_CREATED', 'SANDBOX_'],
        }),
      ),
    ).toEqual(['SANDBOX_agent.completed', 'TASK_CREATED', 'SANDBOX_', 'agent.completed']);
  });
});
