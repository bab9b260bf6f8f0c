import { DEFAULT_IDLE_POLICY, IdleMonitor, isActivityEvent, type IdleCandidate } from './idle-monitor';
import { ManualClock } from '../spec-support';

const MIN = 60_000;

describe('isActivityEvent', () => {
  it('counts every event but the heartbeat', () => {
    expect(isActivityEvent('heartbeat')).toBe(false);
    for (const type of ['agent.tool_use', 'agent.message', 'agent.waiting', 'SANDBOX_MESSAGE_QUEUED'])
      expect(isActivityEvent(type)).toBe(true);
  });
});

describe('IdleMonitor', () => {
  const clock = new ManualClock();
  const candidate = (overrides: Partial<IdleCandidate> = {}): IdleCandidate => ({
    sandboxId: 'sb-1',
    taskId: 'task-1',
    startedAt: clock.now() - 60 * MIN,
    lastActivityAt: clock.now() - 20 * MIN,
    lastHeartbeatStatus: 'idle',
    ...overrides,
  });

  it('defaults to 15 minutes', () => {
    expect(new IdleMonitor().policy.idleAfterMs).toBe(DEFAULT_IDLE_POLICY.idleAfterMs);
    expect(DEFAULT_IDLE_POLICY.idleAfterMs).toBe(15 * MIN);
  });

  it('stops a sandbox without activity for idleAfterMs', () => {
    const monitor = new IdleMonitor({}, clock.now);
    expect(monitor.assess(candidate())).toEqual({
      sandboxId: 'sb-1',
      taskId: 'task-1',
      idleForMs: 20 * MIN,
      idleSince: clock.now() - 20 * MIN,
    });
  });

  it('stops exactly at the threshold, not before', () => {
    const monitor = new IdleMonitor({}, clock.now);
    expect(monitor.assess(candidate({ lastActivityAt: clock.now() - 15 * MIN }))).not.toBeNull();
    expect(monitor.assess(candidate({ lastActivityAt: clock.now() - 15 * MIN + 1 }))).toBeNull();
  });

  it('never stops a sandbox whose agent is working', () => {
    const monitor = new IdleMonitor({}, clock.now);
    expect(
      monitor.assess(candidate({ lastHeartbeatStatus: 'running', lastActivityAt: clock.now() - 5 * 60 * MIN })),
    ).toBeNull();
  });

  it('keeps a recently active sandbox', () => {
    expect(new IdleMonitor({}, clock.now).assess(candidate({ lastActivityAt: clock.now() - MIN }))).toBeNull();
  });

  it('measures a sandbox that never reported activity from its start', () => {
    const monitor = new IdleMonitor({}, clock.now);
    expect(
      monitor.assess(candidate({ lastActivityAt: null, startedAt: clock.now() - 16 * MIN, lastHeartbeatStatus: null })),
    ).toMatchObject({ idleForMs: 16 * MIN });
    expect(monitor.assess(candidate({ lastActivityAt: null, startedAt: clock.now() - 2 * MIN }))).toBeNull();
  });

  it('gives a replacement sandbox its full allowance despite older inherited activity', () => {
    const monitor = new IdleMonitor({}, clock.now);
    expect(
      monitor.assess(candidate({ startedAt: clock.now() - 5 * MIN, lastActivityAt: clock.now() - 50 * MIN })),
    ).toBeNull();
  });

  it('follows a configured threshold and busy statuses', () => {
    const monitor = new IdleMonitor({ idleAfterMs: 100, busyStatuses: ['running', 'starting'] }, clock.now);
    expect(monitor.assess(candidate({ lastActivityAt: clock.now() - 100 }))).not.toBeNull();
    expect(
      monitor.assess(candidate({ lastActivityAt: clock.now() - 100, lastHeartbeatStatus: 'starting' })),
    ).toBeNull();
  });

  it('selects the idle sandboxes of a sweep in input order', () => {
    const monitor = new IdleMonitor({}, () => 0);
    const now = clock.now();
    const stops = monitor.select(
      [
        candidate({ sandboxId: 'a' }),
        candidate({ sandboxId: 'b', lastHeartbeatStatus: 'running' }),
        candidate({ sandboxId: 'c', lastActivityAt: now }),
        candidate({ sandboxId: 'd', lastActivityAt: null }),
      ],
      now,
    );
    expect(stops.map((stop) => stop.sandboxId)).toEqual(['a', 'd']);
  });

  it('refuses a non-positive threshold', () => {
    expect(() => new IdleMonitor({ idleAfterMs: 0 })).toThrow(RangeError);
  });
});
