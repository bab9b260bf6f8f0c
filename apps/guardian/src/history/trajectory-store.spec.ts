import { envelope, ManualClock, toolUse } from '../spec-support';
import { TrajectoryStore } from './trajectory-store';

const thinking = (id: string) => envelope('agent.thinking', {}, { id });

describe('TrajectoryStore', () => {
  it('tracks one trajectory per entity and stamps events with the injected clock', () => {
    const clock = new ManualClock(5_000);
    const store = new TrajectoryStore({ now: clock.now });
    store.apply(thinking('a'));
    clock.advance(100);
    store.apply(envelope('agent.thinking', {}, { type: 'task', id: 'a' }));
    expect(store.size).toBe(2);
    expect(store.get('sandbox:a')?.lastProgressAt).toBe(5_000);
    expect(store.get('task:a')?.lastProgressAt).toBe(5_100);
  });

  it('evicts the least recently active key beyond maxKeys', () => {
    const store = new TrajectoryStore({ now: () => 0, maxKeys: 2 });
    store.apply(thinking('a'));
    store.apply(thinking('b'));
    store.apply(thinking('a')); // a is now the most recent
    store.apply(thinking('c'));
    expect([...store.values()].map((t) => t.entityId)).toEqual(['a', 'c']);
    expect(store.get('sandbox:b')).toBeUndefined();
  });

  it('does not start tracking on a heartbeat or on the end of a run it never saw', () => {
    const store = new TrajectoryStore({ now: () => 0 });
    expect(store.apply(envelope('heartbeat'))).toBeNull();
    expect(store.apply(envelope('agent.completed'))).toBeNull();
    expect(store.apply(envelope('agent.error', { fatal: true }))).toBeNull();
    expect(store.size).toBe(0);
    expect(store.apply(envelope('agent.error', { message: 'transient' }))?.outcome).toBe('tracked');
  });

  it('keeps heartbeats on a tracked key without counting them as progress', () => {
    const clock = new ManualClock(0);
    const store = new TrajectoryStore({ now: clock.now });
    store.apply(toolUse('ls'));
    clock.advance(1_000);
    store.apply(envelope('heartbeat'));
    expect(store.get('sandbox:sb-1')).toMatchObject({ lastProgressAt: 0, lastSeenAt: 1_000 });
  });

  it('drops the key when the run completes', () => {
    const store = new TrajectoryStore({ now: () => 0 });
    store.apply(toolUse('ls'));
    expect(store.apply(envelope('agent.completed'))?.outcome).toBe('terminal');
    expect(store.size).toBe(0);
    // A finished agent's worker may heartbeat until its sandbox stops: that starts nothing.
    expect(store.apply(envelope('heartbeat'))).toBeNull();
  });

  it('forgets a key on request', () => {
    const store = new TrajectoryStore({ now: () => 0 });
    store.apply(thinking('a'));
    expect(store.forget('sandbox:a')).toBe(true);
    expect(store.forget('sandbox:a')).toBe(false);
  });

  it('forgets keys silent since a time, heartbeats counting as signs of life', () => {
    const clock = new ManualClock(0);
    const store = new TrajectoryStore({ now: clock.now });
    store.apply(thinking('quiet'));
    store.apply(thinking('alive'));
    clock.advance(10_000);
    store.apply(envelope('heartbeat', {}, { id: 'alive' }));
    expect(store.forgetSilentSince(5_000)).toEqual(['sandbox:quiet']);
    expect([...store.values()].map((t) => t.entityId)).toEqual(['alive']);
  });
});
