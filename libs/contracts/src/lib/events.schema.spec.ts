import { EVENT_LIMITS, EventBatchBody, EventBody, EventHistoryQuery } from './events.schema';
import { SandboxId } from './ids';

describe('EventBody', () => {
  it('accepts the seed body and defaults event_data to {}', () => {
    expect(EventBody.parse({ event_type: 'agent.started', event_data: { task_id: 't' }, source: 'agent' })).toEqual({
      event_type: 'agent.started',
      event_data: { task_id: 't' },
      source: 'agent',
    });
    expect(EventBody.parse({ event_type: 'heartbeat' })).toEqual({ event_type: 'heartbeat', event_data: {} });
  });

  it('requires event_type and names it', () => {
    const result = EventBody.safeParse({ event_data: {} });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['event_type']);
  });

  it.each([
    ['an empty event_type', { event_type: '' }, 'event_type'],
    ['an over-long event_type', { event_type: 'x'.repeat(EVENT_LIMITS.EVENT_TYPE_MAX + 1) }, 'event_type'],
    ['a non-object event_data', { event_type: 'a', event_data: [1, 2] }, 'event_data'],
    ['a string event_data', { event_type: 'a', event_data: 'text' }, 'event_data'],
    ['a numeric source', { event_type: 'a', source: 7 }, 'source'],
    ['a NUL in event_type', { event_type: 'a\u0000b' }, 'event_type'],
    ['a NUL inside event_data', { event_type: 'a', event_data: { out: 'x\u0000y' } }, 'event_data'],
    ['a lone surrogate inside event_data', { event_type: 'a', event_data: { out: 'x\ud800y' } }, 'event_data'],
    ['a lone surrogate in a key', { event_type: 'a', event_data: { ['k\udc00']: 1 } }, 'event_data'],
  ])('rejects %s', (_name, body, field) => {
    const result = EventBody.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(field);
  });

  it('keeps text that merely looks like an escape, and paired surrogates', () => {
    const data = { literal: '\\u0000 and \\ud800', emoji: 'ok 😀' };
    expect(EventBody.parse({ event_type: 'a', event_data: data }).event_data).toEqual(data);
  });

  it('bounds the nesting of event_data (JSON.stringify would overflow the stack) and names it', () => {
    const nest = (levels: number) => {
      const data: Record<string, unknown> = {};
      let inner: Record<string, unknown> = data;
      for (let level = 1; level < levels; level += 1) inner = (inner.a = {}) as Record<string, unknown>;
      return data;
    };
    expect(EventBody.safeParse({ event_type: 'a', event_data: nest(EVENT_LIMITS.EVENT_DATA_MAX_DEPTH) }).success).toBe(
      true,
    );
    const result = EventBody.safeParse({ event_type: 'a', event_data: nest(EVENT_LIMITS.EVENT_DATA_MAX_DEPTH + 1) });
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['event_data']);
    const deepArrays = { a: JSON.parse(`${'['.repeat(10_000)}${']'.repeat(10_000)}`) as unknown };
    expect(EventBody.safeParse({ event_type: 'a', event_data: deepArrays }).error?.issues[0]?.message).toMatch(
      /levels deep/,
    );
    // Deep enough that JSON.stringify itself overflows the stack.
    let deeper: unknown[] = [];
    const deepest = { a: deeper };
    for (let level = 0; level < 200_000; level += 1) deeper = deeper[0] = [] as unknown[];
    expect(EventBody.safeParse({ event_type: 'a', event_data: deepest }).error?.issues[0]?.message).toMatch(
      /levels deep/,
    );
  });

  it('counts nesting however short the text: one level too deep with the fewest characters is refused', () => {
    const max = EVENT_LIMITS.EVENT_DATA_MAX_DEPTH;
    // The object is level 1; `max - 1` arrays inside it reach the limit, one more passes it.
    const arrays = (levels: number) => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`) as unknown;
    expect(EventBody.safeParse({ event_type: 'a', event_data: { a: arrays(max - 1) } }).success).toBe(true);
    const result = EventBody.safeParse({ event_type: 'a', event_data: { a: arrays(max) } });
    expect(result.error?.issues[0]?.message).toMatch(/levels deep/);
    // Long and shallow is fine.
    expect(
      EventBody.safeParse({ event_type: 'a', event_data: { a: arrays(2), text: 'x'.repeat(5_000) } }).success,
    ).toBe(true);
  });

  it('bounds the serialized size of event_data', () => {
    const big = { diff: 'x'.repeat(EVENT_LIMITS.EVENT_DATA_MAX_BYTES) };
    expect(EventBody.safeParse({ event_type: 'a', event_data: big }).success).toBe(false);
    const fits = { diff: 'x'.repeat(EVENT_LIMITS.EVENT_DATA_MAX_BYTES - 20) };
    expect(EventBody.safeParse({ event_type: 'a', event_data: fits }).success).toBe(true);
    // Bytes, not characters: a third of the limit in 3-byte characters fits, a little more does not.
    const third = Math.floor(EVENT_LIMITS.EVENT_DATA_MAX_BYTES / 3);
    expect(EventBody.safeParse({ event_type: 'a', event_data: { d: '€'.repeat(third - 10) } }).success).toBe(true);
    expect(EventBody.safeParse({ event_type: 'a', event_data: { d: '€'.repeat(third + 10) } }).success).toBe(false);
  });
});

describe('EventBatchBody', () => {
  it('accepts 1..1000 events and rejects an empty or over-long array', () => {
    expect(EventBatchBody.safeParse([{ event_type: 'a' }]).success).toBe(true);
    expect(EventBatchBody.safeParse([]).success).toBe(false);
    const tooMany = Array.from({ length: EVENT_LIMITS.BATCH_MAX + 1 }, () => ({ event_type: 'a' }));
    expect(EventBatchBody.safeParse(tooMany).success).toBe(false);
  });

  it('names the failing element', () => {
    const result = EventBatchBody.safeParse([{ event_type: 'a' }, { event_data: {} }]);
    expect(result.error?.issues[0]?.path).toEqual([1, 'event_type']);
  });
});

describe('EventHistoryQuery', () => {
  it('coerces limit, splits event types and checks the cursor', () => {
    expect(EventHistoryQuery.parse({ after: '42', limit: '10', event_type: 'a,b' })).toEqual({
      after: '42',
      order: 'asc',
      limit: 10,
      event_type: ['a', 'b'],
    });
    expect(EventHistoryQuery.parse({})).toEqual({
      order: 'asc',
      limit: EVENT_LIMITS.HISTORY_LIMIT_DEFAULT,
      event_type: [],
    });
    expect(EventHistoryQuery.parse({ order: 'desc', before: '7' })).toMatchObject({ order: 'desc', before: '7' });
    expect(EventHistoryQuery.safeParse({ order: 'newest' }).success).toBe(false);
    expect(EventHistoryQuery.safeParse({ before: 'x' }).success).toBe(false);
    expect(EventHistoryQuery.safeParse({ after: '-1' }).success).toBe(false);
    expect(EventHistoryQuery.safeParse({ after: '01' }).success).toBe(false);
    expect(EventHistoryQuery.safeParse({ limit: '0' }).success).toBe(false);
    expect(EventHistoryQuery.safeParse({ limit: String(EVENT_LIMITS.HISTORY_LIMIT_MAX + 1) }).success).toBe(false);
  });
});

describe('SandboxId', () => {
  it.each(['test-123', 'a', 'A.b_c-9', 'x'.repeat(128)])('accepts %s', (id) => {
    expect(SandboxId.safeParse(id).success).toBe(true);
  });
  it.each(['', 'x'.repeat(129), '../etc', 'a/b', 'a b', 'a\u0000', 'añ', 'a*', 'a\nb'])('rejects %j', (id) => {
    expect(SandboxId.safeParse(id).success).toBe(false);
  });
});
