import { createEventFilter, matchesFilter } from './filter';
import { WsSubscribeQuery, WS_FILTER_MAX_VALUES } from './ws.schema';

const event = { entity_type: 'sandbox', entity_id: 'sb-1', event_type: 'agent.tool_use' };

function filter(query: Record<string, string>) {
  return createEventFilter(WsSubscribeQuery.parse(query));
}

describe('matchesFilter', () => {
  it('matches everything when no filter is given', () => {
    expect(matchesFilter(filter({}), event)).toBe(true);
  });

  it('ORs values within one kind', () => {
    expect(matchesFilter(filter({ entity_ids: 'sb-0,sb-1' }), event)).toBe(true);
    expect(matchesFilter(filter({ entity_ids: 'sb-0,sb-2' }), event)).toBe(false);
  });

  it('ANDs across kinds', () => {
    expect(
      matchesFilter(filter({ entity_types: 'sandbox', entity_ids: 'sb-1', event_types: 'agent.tool_use' }), event),
    ).toBe(true);
    expect(
      matchesFilter(filter({ entity_types: 'sandbox', entity_ids: 'sb-1', event_types: 'heartbeat' }), event),
    ).toBe(false);
    expect(matchesFilter(filter({ entity_types: 'task', entity_ids: 'sb-1' }), event)).toBe(false);
  });

  it('excludes other entity types (seed 0.1.2)', () => {
    expect(
      matchesFilter(filter({ entity_types: 'sandbox' }), {
        entity_type: 'task',
        entity_id: 'task-456',
        event_type: 'TASK_COMPLETED',
      }),
    ).toBe(false);
  });
});

describe('WsSubscribeQuery', () => {
  it('trims and drops empty list items', () => {
    expect(WsSubscribeQuery.parse({ entity_ids: ' a, ,b ' }).entity_ids).toEqual(['a', 'b']);
  });

  it('rejects hostile ids, a bad cursor and unbounded lists', () => {
    expect(WsSubscribeQuery.safeParse({ entity_ids: 'a/../b' }).success).toBe(false);
    expect(WsSubscribeQuery.safeParse({ since: 'abc' }).success).toBe(false);
    const many = Array.from({ length: WS_FILTER_MAX_VALUES + 1 }, (_, i) => `s${i}`).join(',');
    expect(WsSubscribeQuery.safeParse({ entity_ids: many }).success).toBe(false);
  });
});
