import { FakeClock } from '../spec-support/fake-clock';
import { MemoryRelay } from '../spec-support/memory-relay';
import { startHeartbeat, type WorkerStatus } from './heartbeat';

/** A relay that reports an outage's numbers, as the real outbox would. */
class BackloggedRelay extends MemoryRelay {
  override stats() {
    return { queued: 42, sent: 7, dropped: 3, rejected: 1 };
  }
}

describe('heartbeat', () => {
  it('beats at once, then every interval from its own timer, until stopped', () => {
    const clock = new FakeClock();
    const relay = new MemoryRelay();
    const heartbeat = startHeartbeat({
      relay,
      clock,
      intervalMs: 15_000,
      taskId: 't',
      memoryRss: () => 1,
      snapshot: () => ({ status: 'idle', currentAction: null, turn: 0 }),
    });
    expect(relay.ofType('heartbeat')).toHaveLength(1);
    clock.advance(14_999);
    expect(relay.ofType('heartbeat')).toHaveLength(1);
    clock.advance(1);
    expect(relay.ofType('heartbeat')).toHaveLength(2);
    clock.advance(45_000);
    expect(relay.ofType('heartbeat')).toHaveLength(5);
    heartbeat.stop();
    clock.advance(60_000);
    expect(relay.ofType('heartbeat')).toHaveLength(5);
    expect(relay.ofType('heartbeat').every((event) => event.source === 'worker')).toBe(true);
  });

  it('reports status, current action, memory, and the outbox backlog and losses', () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1, 12));
    const relay = new BackloggedRelay();
    let status: WorkerStatus = 'running';
    startHeartbeat({
      relay,
      clock,
      intervalMs: 1_000,
      taskId: 'task-9',
      memoryRss: () => 123_456,
      snapshot: () => ({ status, currentAction: 'bash: npm test', turn: 2 }),
    });
    status = 'idle';
    clock.advance(1_000);
    expect(relay.ofType('heartbeat').map((event) => event.event_data)).toEqual([
      {
        status: 'running',
        timestamp: '2025-01-01T12:00:00.000Z',
        current_action: 'bash: npm test',
        memory_rss_bytes: 123_456,
        queued_events: 42,
        dropped_events: 3,
        rejected_events: 1,
        task_id: 'task-9',
        turn: 2,
        uptime_ms: 0,
      },
      expect.objectContaining({ status: 'idle', timestamp: '2025-01-01T12:00:01.000Z', uptime_ms: 1_000 }),
    ]);
  });
});
