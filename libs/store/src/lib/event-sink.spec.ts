import { RELAY_EVENT_SOURCES, type EventEnvelope } from '@sandbox-relay/contracts';
import type { NewEvent } from './event-repository';
import { EventSink } from './event-sink';

class FakeLog {
  appended: NewEvent[][] = [];
  async append(events: readonly NewEvent[]): Promise<EventEnvelope[]> {
    this.appended.push([...events]);
    return events.map((event, index) => ({
      id: String(index + 1),
      event_type: event.eventType,
      entity_type: event.entityType,
      entity_id: event.entityId,
      payload: event.data,
      source: event.source,
      timestamp: 'now',
    }));
  }
  async whenIdle(): Promise<void> {}
}

describe('EventSink', () => {
  const data = { task_id: 't1', sandbox_id: 'sb-1', reason: 'asked' };

  it('stores an event with the service source, once per target, in one append', async () => {
    const log = new FakeLog();
    const sink = new EventSink(log, RELAY_EVENT_SOURCES.SUPERVISOR);
    const stored = await sink.emit(
      'TASK_STOPPED',
      [
        { entityType: 'sandbox', entityId: 'sb-1' },
        { entityType: 'task', entityId: 't1' },
      ],
      data,
    );
    expect(stored.map((event) => event.entity_id)).toEqual(['sb-1', 't1']);
    expect(log.appended).toHaveLength(1);
    expect(log.appended[0]).toEqual([
      {
        entityType: 'sandbox',
        entityId: 'sb-1',
        eventType: 'TASK_STOPPED',
        data,
        dataJson: JSON.stringify(data),
        source: 'supervisor',
      },
      {
        entityType: 'task',
        entityId: 't1',
        eventType: 'TASK_STOPPED',
        data,
        dataJson: JSON.stringify(data),
        source: 'supervisor',
      },
    ]);
  });

  it('takes one target, and another relay source when asked', async () => {
    const log = new FakeLog();
    const sink = new EventSink(log, RELAY_EVENT_SOURCES.MESSAGE_QUEUE);
    await sink.emit(
      'SANDBOX_MESSAGE_QUEUED',
      { entityType: 'sandbox', entityId: 'sb-2' },
      { message_id: '7', message_type: 'guardian_intervention', content_preview: 'x' },
      { source: RELAY_EVENT_SOURCES.GUARDIAN },
    );
    expect(log.appended[0]![0]).toMatchObject({ entityId: 'sb-2', source: 'guardian' });
  });

  it('is typed by the payload map', () => {
    const sink = new EventSink(new FakeLog(), RELAY_EVENT_SOURCES.SUPERVISOR);
    // @ts-expect-error TASK_STOPPED needs a reason
    void sink.emit('TASK_STOPPED', { entityType: 'sandbox', entityId: 'sb-1' }, { task_id: 't1', sandbox_id: 'sb-1' });
    // @ts-expect-error an event type without a schema cannot be emitted
    void sink.emit('NOT_A_TYPE', { entityType: 'sandbox', entityId: 'sb-1' }, {});
  });
});
