import {
  DEFAULT_HEARTBEAT_POLICY,
  HeartbeatLadder,
  ladderStep,
  livenessOf,
  missedIntervals,
  type SupervisedSession,
} from './heartbeat-ladder';
import { ManualClock } from '../spec-support';
import { afterBlindSpan } from '../clock';

const S = 1_000;

describe('missedIntervals', () => {
  const policy = { intervalMs: 15 * S, graceMs: 5 * S };

  it.each([
    [0, 0],
    [20 * S, 0],
    [20 * S + 1, 1],
    [35 * S, 1],
    [35 * S + 1, 2],
    [50 * S + 1, 3],
    [200 * S, 12],
    [200 * S + 1, 13],
  ])('counts %i ms of silence as %i misses', (silentMs, missed) => {
    expect(missedIntervals(1_000_000, 1_000_000 + silentMs, policy)).toBe(missed);
  });

  it('counts a last-seen time in the future (clock skew) as no miss', () => {
    expect(missedIntervals(2_000_000, 1_000_000, policy)).toBe(0);
  });

  it('applies no slack with a zero grace', () => {
    expect(missedIntervals(0, 15 * S, { intervalMs: 15 * S, graceMs: 0 })).toBe(0);
    expect(missedIntervals(0, 15 * S + 1, { intervalMs: 15 * S, graceMs: 0 })).toBe(1);
  });
});

describe('ladderStep', () => {
  it('maps misses onto the seed ladder', () => {
    expect([0, 1, 2, 3, 7].map((missed) => ladderStep(missed, DEFAULT_HEARTBEAT_POLICY))).toEqual([
      'healthy',
      'warning',
      'degraded',
      'restart',
      'restart',
    ]);
  });

  it('follows configured thresholds', () => {
    const policy = { warnAfterMisses: 2, degradeAfterMisses: 4, restartAfterMisses: 6 };
    expect([1, 2, 3, 4, 5, 6].map((missed) => ladderStep(missed, policy))).toEqual([
      'healthy',
      'warning',
      'warning',
      'degraded',
      'degraded',
      'restart',
    ]);
  });
});

describe('HeartbeatLadder', () => {
  const session = (overrides: Partial<SupervisedSession> = {}, clock = new ManualClock()): SupervisedSession => ({
    sandboxId: 'sb-1',
    taskId: 'task-1',
    lastHeartbeatAt: clock.now(),
    startedAt: clock.now() - 60 * S,
    escalation: 'none',
    ...overrides,
  });

  /** Runs sweeps like the service does: applies each action's `to` to the stored session. */
  function sweepAndStore(ladder: HeartbeatLadder, sessions: SupervisedSession[]) {
    const actions = ladder.sweep(sessions);
    for (const action of actions) {
      const stored = sessions.find((candidate) => candidate.sandboxId === action.sandboxId);
      if (stored) stored.escalation = action.to;
    }
    return actions.map((action) => `${action.sandboxId}:${action.kind}`);
  }

  it('uses the seed defaults: 15 s interval, 1/2/3 misses', () => {
    expect(new HeartbeatLadder().policy).toMatchObject({
      intervalMs: 15_000,
      warnAfterMisses: 1,
      degradeAfterMisses: 2,
      restartAfterMisses: 3,
    });
  });

  it('walks a silent session up the ladder, acting once per step', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder({}, clock.now);
    const sessions = [session({}, clock)];
    const seen: string[][] = [];
    for (let sweep = 0; sweep < 12; sweep++) {
      clock.advance(5 * S);
      seen.push(sweepAndStore(ladder, sessions));
    }
    // After 5..60 s of silence: a warning once past 20 s, degraded past 35 s, restart past 50 s.
    expect(seen.flat()).toEqual(['sb-1:warn', 'sb-1:degrade', 'sb-1:restart']);
    expect(seen.findIndex((actions) => actions.length > 0)).toBe(4); // 25 s
    expect(sessions[0]?.escalation).toBe('restarting');
  });

  it('describes the action fully', () => {
    const clock = new ManualClock();
    const lastHeartbeatAt = clock.now();
    clock.advance(21 * S);
    expect(new HeartbeatLadder({}, clock.now).sweep([session({ lastHeartbeatAt })])).toEqual([
      {
        kind: 'warn',
        sandboxId: 'sb-1',
        taskId: 'task-1',
        from: 'none',
        to: 'warning',
        missed: 1,
        lastSeenAt: lastHeartbeatAt,
      },
    ]);
  });

  it('does not warn a session already at warning again', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder({}, clock.now);
    const stale = session({ lastHeartbeatAt: clock.now() - 25 * S, escalation: 'warning' }, clock);
    expect(ladder.sweep([stale])).toEqual([]);
  });

  it('reports recovery once when heartbeats come back, then nothing', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder({}, clock.now);
    const sessions = [session({ lastHeartbeatAt: clock.now() - 40 * S, escalation: 'degraded' }, clock)];
    expect(sweepAndStore(ladder, sessions)).toEqual([]);
    sessions[0]!.lastHeartbeatAt = clock.now();
    expect(sweepAndStore(ladder, sessions)).toEqual(['sb-1:recover']);
    expect(sessions[0]?.escalation).toBe('none');
    expect(sweepAndStore(ladder, sessions)).toEqual([]);
  });

  it('warns afresh a degraded session that beat again and is one interval late', () => {
    const clock = new ManualClock();
    const action = new HeartbeatLadder({}, clock.now).assess(
      session({ lastHeartbeatAt: clock.now() - 21 * S, escalation: 'degraded' }),
    );
    expect(action).toMatchObject({ kind: 'warn', from: 'degraded', to: 'warning' });
  });

  it('counts a session that never beat from its start, without a startup grace', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder({ startupGraceMs: 0 }, clock.now);
    const neverBeat = session({ lastHeartbeatAt: null, startedAt: clock.now() - 36 * S }, clock);
    expect(ladder.assess(neverBeat)).toMatchObject({ kind: 'degrade', missed: 2, lastSeenAt: neverBeat.startedAt });
    expect(ladder.assess({ ...neverBeat, startedAt: clock.now() - 10 * S })).toBeNull();
  });

  it('gives a session that has not beaten yet the startup grace (60 s by default) before its misses count', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder({}, clock.now);
    const booting = (startedAgoMs: number) =>
      session({ lastHeartbeatAt: null, startedAt: clock.now() - startedAgoMs }, clock);
    expect(ladder.assess(booting(60 * S + 20 * S))).toBeNull();
    expect(ladder.assess(booting(60 * S + 20 * S + 1))).toMatchObject({ kind: 'warn', missed: 1 });
    expect(ladder.assess(booting(60 * S + 50 * S + 1))).toMatchObject({ kind: 'restart', missed: 3 });
    // Once it has beaten, the grace is spent: a later silence counts from the beat as for any session.
    expect(
      ladder.assess(session({ lastHeartbeatAt: clock.now() - 21 * S, startedAt: clock.now() - 30 * S })),
    ).toMatchObject({ kind: 'warn', missed: 1 });
  });

  it('jumps straight to restart after a long outage of the supervisor itself', () => {
    const clock = new ManualClock();
    const action = new HeartbeatLadder({}, clock.now).assess(session({ lastHeartbeatAt: clock.now() - 10 * 60 * S }));
    expect(action).toMatchObject({ kind: 'restart', from: 'none', to: 'restarting', missed: 39 });
  });

  it('leaves a session whose restart is under way to the restarter', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder({}, clock.now);
    expect(ladder.assess(session({ lastHeartbeatAt: clock.now() - 100 * S, escalation: 'restarting' }))).toBeNull();
    expect(ladder.assess(session({ lastHeartbeatAt: clock.now(), escalation: 'restarting' }))).toBeNull();
  });

  it('exempts a session whose last beat said completed', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder({}, clock.now);
    const done = session({ lastHeartbeatAt: clock.now() - 100 * S, lastHeartbeatStatus: 'completed' });
    expect(ladder.assess(done)).toBeNull();
    expect(ladder.assess({ ...done, lastHeartbeatStatus: 'running' })).toMatchObject({ kind: 'restart' });
  });

  it('honours configured intervals and thresholds (short ones for tests)', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder(
      { intervalMs: 100, graceMs: 0, warnAfterMisses: 2, degradeAfterMisses: 3, restartAfterMisses: 5 },
      clock.now,
    );
    const at = (silentMs: number) =>
      ladder.assess(session({ lastHeartbeatAt: clock.now() - silentMs }))?.kind ?? 'none';
    expect([150, 250, 350, 450, 550].map(at)).toEqual(['none', 'warn', 'degrade', 'degrade', 'restart']);
  });

  it('sweeps many sessions and returns actions in input order', () => {
    const clock = new ManualClock();
    const ladder = new HeartbeatLadder({}, clock.now);
    const actions = ladder.sweep([
      session({ sandboxId: 'a', lastHeartbeatAt: clock.now() - 60 * S }),
      session({ sandboxId: 'b', lastHeartbeatAt: clock.now() }),
      session({ sandboxId: 'c', lastHeartbeatAt: clock.now() - 21 * S }),
    ]);
    expect(actions.map((action) => `${action.sandboxId}:${action.kind}`)).toEqual(['a:restart', 'c:warn']);
  });

  it('sweeps at an explicit instant when given one', () => {
    const ladder = new HeartbeatLadder({}, () => 0);
    expect(ladder.sweep([session({ lastHeartbeatAt: 1_000 })], 1_000 + 21 * S)).toHaveLength(1);
  });

  it.each([
    [{ intervalMs: 0 }],
    [{ graceMs: -1 }],
    [{ warnAfterMisses: 0 }],
    [{ degradeAfterMisses: 1 }],
    [{ restartAfterMisses: 2 }],
    [{ intervalMs: 1.5 }],
  ])('refuses the policy %p', (policy) => {
    expect(() => new HeartbeatLadder(policy)).toThrow(RangeError);
  });
});

describe('the original worker (agent.heartbeat)', () => {
  const OMOIOS = 'agent.heartbeat';
  const start = 1_700_000_000_000;
  const original = (overrides: Partial<SupervisedSession>): SupervisedSession => ({
    sandboxId: 'sb-o',
    taskId: 'task-o',
    lastHeartbeatAt: null,
    startedAt: start,
    escalation: 'none',
    lastHeartbeatType: OMOIOS,
    lastActivityAt: null,
    ...overrides,
  });

  it('is measured on its 30 s cadence: a beat every 30 s is never warned, where 15 s beats would be', () => {
    const ladder = new HeartbeatLadder({ startupGraceMs: 0 });
    for (let beat = 0; beat < 20; beat++) {
      const lastHeartbeatAt = start + beat * 30 * S;
      // Just before the next beat is due, and a few seconds late (network, a slow poll).
      for (const now of [lastHeartbeatAt + 30 * S, lastHeartbeatAt + 34 * S]) {
        expect(ladder.assess(original({ lastHeartbeatAt }), now)).toBeNull();
        expect(ladder.assess(original({ lastHeartbeatAt, lastHeartbeatType: 'heartbeat' }), now)).toMatchObject({
          kind: 'warn',
        });
      }
    }
  });

  it('climbs the same rungs once it stops: warned after 35 s, degraded after 65 s, restarted after 95 s', () => {
    const ladder = new HeartbeatLadder({ startupGraceMs: 0 });
    const at = (silentS: number) =>
      ladder.assess(original({ lastHeartbeatAt: start }), start + silentS * S)?.kind ?? 'none';
    expect([35, 36, 65, 66, 95, 96].map(at)).toEqual(['none', 'warn', 'warn', 'degrade', 'degrade', 'restart']);
  });

  it('counts its other events as signs of life mid-turn, when it does not beat', () => {
    const ladder = new HeartbeatLadder({ startupGraceMs: 0 });
    const midTurn = original({ lastHeartbeatAt: start, lastActivityAt: start + 300 * S });
    expect(ladder.assess(midTurn, start + 320 * S)).toBeNull();
    expect(ladder.assess(midTurn, start + 400 * S)).toMatchObject({ kind: 'restart', lastSeenAt: start + 300 * S });
  });

  it('leaves the relay worker on its own beats: its other events are no sign of life', () => {
    const ladder = new HeartbeatLadder({ startupGraceMs: 0 });
    const relay = original({ lastHeartbeatType: 'heartbeat', lastHeartbeatAt: start, lastActivityAt: start + 45 * S });
    expect(ladder.assess(relay, start + 51 * S)).toMatchObject({ kind: 'restart', lastSeenAt: start });
  });

  it('measures a worker that never beat from its newest event past the startup grace, on the 30 s cadence', () => {
    const ladder = new HeartbeatLadder({ startupGraceMs: 60 * S });
    const firstTurn = original({ lastHeartbeatType: null, lastActivityAt: start + 200 * S });
    expect(livenessOf(firstTurn, ladder.policy)).toEqual({
      lastSeenAt: start + 200 * S,
      intervalMs: 30 * S,
      cadence: 'omoios',
    });
    expect(ladder.assess(firstTurn, start + 230 * S)).toBeNull();
    expect(ladder.assess(firstTurn, start + 296 * S)).toMatchObject({ kind: 'restart' });
    // Silent since the start: the relay's rule (startup grace, then 15 s intervals) as before.
    expect(livenessOf(original({ lastHeartbeatType: null }), ladder.policy)).toEqual({
      lastSeenAt: start + 60 * S,
      intervalMs: 15 * S,
      cadence: 'relay',
    });
  });

  it('takes its cadence from the configuration', () => {
    const ladder = new HeartbeatLadder({ omoiosIntervalMs: 60 * S, startupGraceMs: 0 });
    expect(ladder.assess(original({ lastHeartbeatAt: start }), start + 64 * S)).toBeNull();
    expect(() => new HeartbeatLadder({ omoiosIntervalMs: 0 })).toThrow(RangeError);
  });
});

describe('a span the supervisor could not read the store in', () => {
  const T = 1_000_000;
  const ladder = new HeartbeatLadder();
  const session = (lastHeartbeatAt: number, unobserved: SupervisedSession['unobserved']): SupervisedSession => ({
    sandboxId: 'sb',
    taskId: null,
    lastHeartbeatAt,
    startedAt: T - 100 * S,
    escalation: 'none',
    unobserved,
  });

  it.each([
    ['before the span: only the part outside it counts', T, { from: T + 10 * S, to: T + 70 * S }, T + 60 * S],
    ['inside the span: counted from its end', T + 30 * S, { from: T + 10 * S, to: T + 70 * S }, T + 70 * S],
    ['after the span: as it is', T + 80 * S, { from: T + 10 * S, to: T + 70 * S }, T + 80 * S],
    ['no span', T, null, T],
  ])('moves a last-seen time %s', (_, since, span, expected) => {
    expect(afterBlindSpan(since, span)).toBe(expected);
  });

  it('restarts no one on the first sweep after a two-minute outage, and still restarts a sandbox that stays silent', () => {
    // Beat at T, the store unreadable from T + 5 s (last good sweep) to T + 125 s.
    const span = { from: T + 5 * S, to: T + 125 * S };
    expect(ladder.assess(session(T, null), T + 125 * S)?.kind).toBe('restart');
    expect(ladder.assess(session(T, span), T + 125 * S)).toBeNull();
    // 5 s of silence before the span and 15 s after it: past the grace, one interval missed.
    expect(ladder.assess(session(T, span), T + 140 * S + 1)).toMatchObject({ kind: 'warn', missed: 1, lastSeenAt: T });
    expect(ladder.assess(session(T, span), T + 170 * S + 1)).toMatchObject({ kind: 'restart', missed: 3 });
  });
});
