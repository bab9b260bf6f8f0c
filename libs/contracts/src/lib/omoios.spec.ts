import { CANARY_SANDBOX_ID } from './canary';
import { RELAY_EVENT_SOURCES } from './event-sources';
import { EventBody, serializeEnvelope, type EventEnvelope } from './events.schema';
import {
  OmoiosForeignEvent,
  hasRelayFraming,
  isRelayPublished,
  omoiosChannel,
  serializeOmoiosEvent,
  toOmoiosEvent,
} from './omoios';

function envelope(overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    id: '42',
    event_type: 'agent.tool_use',
    entity_type: 'sandbox',
    entity_id: 'sb-1',
    payload: { tool: 'Bash', task_id: 't-1' },
    source: 'agent',
    timestamp: '2026-01-02T03:04:05.000Z',
    ...overrides,
  };
}

describe('toOmoiosEvent', () => {
  it('names a worker event SANDBOX_<type> and adds source and original_event_type to its payload', () => {
    expect(toOmoiosEvent(envelope())).toEqual({
      event_type: 'SANDBOX_agent.tool_use',
      entity_type: 'sandbox',
      entity_id: 'sb-1',
      payload: { tool: 'Bash', task_id: 't-1', source: 'agent', original_event_type: 'agent.tool_use' },
      id: '42',
      timestamp: '2026-01-02T03:04:05.000Z',
    });
    expect(toOmoiosEvent(envelope({ source: null })).payload['source']).toBe('agent');
  });

  it.each(Object.values(RELAY_EVENT_SOURCES))(
    "keeps the name and payload of a sandbox event with the relay's source %s",
    (source) => {
      const event = envelope({ event_type: 'SANDBOX_MESSAGE_QUEUED', payload: { message_id: 'm' }, source });
      expect(toOmoiosEvent(event)).toEqual({
        event_type: 'SANDBOX_MESSAGE_QUEUED',
        entity_type: 'sandbox',
        entity_id: 'sb-1',
        payload: { message_id: 'm' },
        id: '42',
        timestamp: event.timestamp,
      });
    },
  );

  it('keeps the name of an event about another entity whatever its source', () => {
    expect(
      toOmoiosEvent(envelope({ entity_type: 'task', event_type: 'TASK_COMPLETED', source: 'system' })).event_type,
    ).toBe('TASK_COMPLETED');
  });
});

describe('serializeOmoiosEvent', () => {
  it.each([
    ['a worker event', envelope()],
    ['a worker event without data', envelope({ payload: {} })],
    [
      'a worker event whose data names source and original_event_type',
      envelope({ payload: { source: 'mine', original_event_type: 'x', n: 1 } }),
    ],
    [
      'a relay event',
      envelope({
        event_type: 'AGENT_RESTARTED',
        payload: { a: [1, { b: null }] },
        source: RELAY_EVENT_SOURCES.SUPERVISOR,
      }),
    ],
    [
      'an event taken in from the bus',
      envelope({ entity_type: 'task', event_type: 'TASK_CREATED', source: RELAY_EVENT_SOURCES.OMOIOS_BUS }),
    ],
    [
      'text that needs escaping',
      envelope({ event_type: 'a"b\\c', payload: { quote: '"\n\u2028', emoji: '😀' }, source: 'agent "x"' }),
    ],
  ])('parses to exactly toOmoiosEvent for %s', (_name, event) => {
    const json = serializeOmoiosEvent(event);
    expect(JSON.parse(json)).toEqual(toOmoiosEvent(event));
    expect(json).not.toMatch(/"source":.*"source":/);
  });

  it('splices the given payload text instead of serializing the payload again', () => {
    const event = envelope({ payload: { big: 'x' } });
    expect(JSON.parse(serializeOmoiosEvent(event, '{"big":"from the text"}')).payload.big).toBe('from the text');
  });
});

describe('serializeEnvelope', () => {
  it('is JSON.stringify of the envelope', () => {
    for (const event of [
      envelope(),
      envelope({ source: null, payload: {} }),
      envelope({ payload: { s: '"\\\u0001' } }),
    ]) {
      expect(serializeEnvelope(event)).toBe(JSON.stringify(event));
    }
  });
});

describe('EventBody source', () => {
  it.each(Object.values(RELAY_EVENT_SOURCES))("refuses the relay's own source %s", (source) => {
    const result = EventBody.safeParse({ event_type: 'agent.started', source });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['source']);
    expect(result.error?.issues[0]?.message).toMatch(/relay's own sources/);
  });

  it.each(['agent', 'worker', 'system', 'my-tool'])('accepts a worker source %s', (source) => {
    expect(EventBody.parse({ event_type: 'agent.started', source }).source).toBe(source);
  });
});

describe('OmoiosForeignEvent', () => {
  it("accepts what the original's EventBusService publishes, payload defaulting to {}", () => {
    const sent = {
      event_type: 'TASK_COMPLETED',
      entity_type: 'task',
      entity_id: '0b9d2c1e-5f0a-4c59-9a55-1a4f0c6e2d11',
      payload: { result: { ok: true } },
    };
    expect(OmoiosForeignEvent.parse(sent)).toEqual(sent);
    expect(OmoiosForeignEvent.parse({ event_type: 'X', entity_type: 'agent', entity_id: 'a-1' }).payload).toEqual({});
  });

  it.each([
    ['no event_type', { entity_type: 'task', entity_id: 't', payload: {} }, 'event_type'],
    ['a NUL in event_type', { event_type: 'a\u0000', entity_type: 'task', entity_id: 't' }, 'event_type'],
    [
      'an entity id outside the channel alphabet',
      { event_type: 'X', entity_type: 'task', entity_id: 'a b' },
      'entity_id',
    ],
    ['a payload that is a list', { event_type: 'X', entity_type: 'task', entity_id: 't', payload: [1] }, 'payload'],
    [
      'a payload Postgres refuses',
      { event_type: 'X', entity_type: 'task', entity_id: 't', payload: { s: 'a\u0000' } },
      'payload',
    ],
    [
      'the canary sandbox',
      { event_type: 'relay.canary', entity_type: 'sandbox', entity_id: CANARY_SANDBOX_ID },
      'entity_id',
    ],
  ])('refuses %s', (_name, message, field) => {
    const result = OmoiosForeignEvent.safeParse(message);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(field);
  });
});

describe('the bus channel and the relay mark', () => {
  it('names the channel events.<type> and tells the relay messages by their id', () => {
    expect(omoiosChannel('TASK_CREATED')).toBe('events.TASK_CREATED');
    expect(isRelayPublished(JSON.parse(serializeOmoiosEvent(envelope())))).toBe(true);
    expect(isRelayPublished({ event_type: 'X', entity_type: 'task', entity_id: 't', payload: {} })).toBe(false);
  });
});

describe('hasRelayFraming', () => {
  it("recognises the relay's own messages from their text", () => {
    for (const event of [
      envelope(),
      envelope({ source: RELAY_EVENT_SOURCES.SUPERVISOR, event_type: 'TASK_COMPLETED', payload: {} }),
      envelope({ payload: { text: 'a "quoted" ,"id":"7" inside', nested: { id: '9' } } }),
      envelope({ id: '9007199254740993', payload: {} }),
    ])
      expect(hasRelayFraming(serializeOmoiosEvent(event))).toBe(true);
  });

  it('never calls a message relay-framed unless parsing it would too', () => {
    const foreign = [
      '{"event_type":"TASK_CREATED","entity_type":"task","entity_id":"t-1","payload":{}}',
      // An id inside the payload, a numeric id, an id not last: the parse decides.
      '{"event_type":"X","entity_type":"task","entity_id":"t","payload":{"a":1,"id":"5","timestamp":"t"}}',
      '{"event_type":"X","entity_type":"task","entity_id":"t","payload":{},"id":5,"timestamp":"t"}',
      '{"event_type":"X","id":"5","timestamp":"t","entity_type":"task","entity_id":"t","payload":{}}',
      'not json,"id":"5","timestamp":"t"}',
    ];
    for (const raw of foreign) expect(hasRelayFraming(raw)).toBe(false);
    // A payload whose keys collide with the mapping is serialized by JSON.stringify: still told apart by parsing.
    const colliding = serializeOmoiosEvent(envelope({ payload: { source: 'mine' } }));
    expect(hasRelayFraming(colliding) || isRelayPublished(JSON.parse(colliding))).toBe(true);
  });
});
