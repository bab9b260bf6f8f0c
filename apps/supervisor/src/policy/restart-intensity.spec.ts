import {
  backoffDelay,
  decideRestart,
  DEFAULT_RESTART_INTENSITY,
  RestartIntensity,
  restartsInWindow,
} from './restart-intensity';
import { ManualClock } from '../spec-support';

const MIN = 60_000;

describe('restartsInWindow', () => {
  it('counts restarts younger than the window, future ones included', () => {
    const now = 100 * MIN;
    expect(restartsInWindow([now - 10 * MIN, now - 10 * MIN + 1, now - 1, now, now + 5], now, 10 * MIN)).toBe(4);
    expect(restartsInWindow([], now, 10 * MIN)).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 100].map((n) => backoffDelay(n, DEFAULT_RESTART_INTENSITY))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('treats a negative count as none', () => {
    expect(backoffDelay(-3, DEFAULT_RESTART_INTENSITY)).toBe(1_000);
  });
});

describe('decideRestart', () => {
  const now = 1_000 * MIN;

  it('restarts a task with no past restart after the base delay', () => {
    expect(decideRestart([], now)).toEqual({ kind: 'restart', delayMs: 1_000, restartsInWindow: 0, attempt: 1 });
  });

  it('backs off with each restart in the window', () => {
    expect(decideRestart([now - 2 * MIN], now)).toMatchObject({ kind: 'restart', delayMs: 2_000, attempt: 2 });
    expect(decideRestart([now - 2 * MIN, now - MIN], now)).toMatchObject({
      kind: 'restart',
      delayMs: 4_000,
      attempt: 3,
    });
  });

  it('quarantines once maxRestarts already happened within the window', () => {
    const decision = decideRestart([now - 3 * MIN, now - 2 * MIN, now - MIN], now);
    expect(decision).toEqual({
      kind: 'quarantine',
      restartsInWindow: 3,
      reason: 'restart intensity exceeded: 3 restarts within 10 min (limit 3)',
    });
  });

  it('forgets restarts that left the window', () => {
    const old = [now - 30 * MIN, now - 20 * MIN, now - 11 * MIN];
    expect(decideRestart([...old, now - MIN], now)).toMatchObject({
      kind: 'restart',
      restartsInWindow: 1,
      delayMs: 2_000,
    });
  });

  it('accepts restart times in any order', () => {
    expect(decideRestart([now - MIN, now - 30 * MIN, now - 2 * MIN], now)).toMatchObject({
      kind: 'restart',
      restartsInWindow: 2,
    });
  });

  it('never restarts with maxRestarts 0', () => {
    expect(decideRestart([], now, { ...DEFAULT_RESTART_INTENSITY, maxRestarts: 0 })).toMatchObject({
      kind: 'quarantine',
      restartsInWindow: 0,
    });
  });

  it('names a sub-minute window in milliseconds', () => {
    const policy = { ...DEFAULT_RESTART_INTENSITY, maxRestarts: 1, windowMs: 500 };
    expect(decideRestart([now - 100], now, policy)).toMatchObject({
      kind: 'quarantine',
      reason: 'restart intensity exceeded: 1 restarts within 500 ms (limit 1)',
    });
  });
});

describe('RestartIntensity', () => {
  it('uses its clock and reads RestartEvent dates', () => {
    const clock = new ManualClock();
    const intensity = new RestartIntensity({}, clock.now);
    const rows = [new Date(clock.now() - 3 * MIN), new Date(clock.now() - 2 * MIN)];
    expect(intensity.decide(rows)).toMatchObject({ kind: 'restart', attempt: 3, delayMs: 4_000 });
    expect(intensity.decide([...rows, clock.now() - MIN])).toMatchObject({ kind: 'quarantine' });
    clock.advance(8 * MIN); // the first two now fall out of the window
    expect(intensity.decide([...rows, clock.now() - 9 * MIN])).toMatchObject({ kind: 'restart', restartsInWindow: 1 });
  });

  it('simulates a worker that keeps dying: three restarts, then quarantine', () => {
    const clock = new ManualClock();
    const intensity = new RestartIntensity({}, clock.now);
    const history: number[] = [];
    const decisions: string[] = [];
    for (let failure = 0; failure < 5; failure++) {
      const decision = intensity.decide(history);
      decisions.push(decision.kind === 'restart' ? `restart+${decision.delayMs}` : 'quarantine');
      if (decision.kind === 'quarantine') break;
      clock.advance(decision.delayMs + 20_000); // backoff, then the replacement dies 20 s later
      history.push(clock.now());
    }
    expect(decisions).toEqual(['restart+1000', 'restart+2000', 'restart+4000', 'quarantine']);
  });

  it('takes short test policies and tells where the window starts', () => {
    const clock = new ManualClock(10_000);
    const intensity = new RestartIntensity(
      { maxRestarts: 2, windowMs: 1_000, baseBackoffMs: 10, maxBackoffMs: 15 },
      clock.now,
    );
    expect(intensity.windowStart()).toEqual(new Date(9_000));
    expect(intensity.decide([9_500])).toMatchObject({ kind: 'restart', delayMs: 15 });
    expect(intensity.decide([9_500, 9_900])).toMatchObject({ kind: 'quarantine' });
    expect(intensity.decide([9_000, 9_900])).toMatchObject({ kind: 'restart' });
  });

  it.each([
    [{ maxRestarts: -1 }],
    [{ windowMs: 0 }],
    [{ baseBackoffMs: 0 }],
    [{ maxBackoffMs: 500 }],
    [{ maxRestarts: 2.5 }],
  ])('refuses the policy %p', (policy) => {
    expect(() => new RestartIntensity(policy)).toThrow(RangeError);
  });
});
