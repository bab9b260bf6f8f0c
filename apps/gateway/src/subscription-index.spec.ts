import { createEventFilter, type EventFilter } from '@sandbox-relay/contracts';
import { SubscriptionIndex } from './subscription-index';

interface Sub {
  name: string;
  filter: EventFilter;
}

function sub(name: string, query: Partial<Record<'entity_types' | 'entity_ids' | 'event_types', string[]>>): Sub {
  return { name, filter: createEventFilter({ entity_types: [], entity_ids: [], event_types: [], ...query }) };
}

function matches(index: SubscriptionIndex<Sub>, event: { entity_type: string; entity_id: string; event_type: string }) {
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
