import {
  DEFAULT_THRESHOLDS,
  detectErrorStorm,
  detectLooping,
  detectOnEvent,
  detectStuck,
  formatDuration,
  sweep,
  type DetectorThresholds,
} from './detectors';
import { envelope, toolFailed, toolUse } from '../spec-support';
import { Trajectory } from '../history/trajectory';

const T0 = 1_000_000;
const MIN = 60_000;

function fed(events: ReturnType<typeof envelope>[], entityId = 'sb-1'): Trajectory {
  const t = new Trajectory('sandbox', entityId, T0);
  for (const event of events) t.apply(event, T0);
  return t;
}

const repeated = (count: number, command = 'npm test') => Array.from({ length: count }, () => toolUse(command));

describe('looping', () => {
  it('fires at the threshold (default 3 identical calls), not before', () => {
    expect(DEFAULT_THRESHOLDS.loopingAt).toBe(3);
    expect(detectLooping(fed(repeated(2)), DEFAULT_THRESHOLDS)).toBeNull();
    const finding = detectLooping(fed(repeated(4)), DEFAULT_THRESHOLDS);
    expect(finding).toEqual({
      detector: 'looping',
      reason: 'same bash call 4 times in a row (command: npm test)',
      message: expect.stringContaining(
        'You have run `bash` with the same arguments 4 times in a row (command: npm test). ',
      ),
    });
    expect(finding?.message).toMatch(/Stop repeating it.*change the approach/);
  });

  it('honours a configured threshold', () => {
    const thresholds: DetectorThresholds = { ...DEFAULT_THRESHOLDS, loopingAt: 5 };
    expect(detectLooping(fed(repeated(4)), thresholds)).toBeNull();
    expect(detectLooping(fed(repeated(5)), thresholds)?.reason).toContain('5 times');
  });

  it('is reset by a different call and by a file edit', () => {
    expect(detectLooping(fed([...repeated(2), toolUse('ls'), toolUse('npm test')]), DEFAULT_THRESHOLDS)).toBeNull();
    expect(
      detectLooping(fed([...repeated(2), envelope('agent.file_edited'), ...repeated(2)]), DEFAULT_THRESHOLDS),
    ).toBeNull();
  });

  it('is not reset by results or thoughts between the calls', () => {
    const between = [envelope('agent.tool_completed', { tool: 'bash', exit_code: 1 }), envelope('agent.thinking')];
    const events = [toolUse('npm test'), ...between, toolUse('npm test'), ...between, toolUse('npm test')];
    expect(detectLooping(fed(events), DEFAULT_THRESHOLDS)?.detector).toBe('looping');
  });
});

describe('error storm', () => {
  it('fires at the threshold (default 5 consecutive failures) and names the tools and last error', () => {
    expect(DEFAULT_THRESHOLDS.errorStormAt).toBe(5);
    const four = [toolFailed('bash'), toolFailed('bash'), toolFailed('edit'), toolFailed('bash')];
    expect(detectErrorStorm(fed(four), DEFAULT_THRESHOLDS)).toBeNull();
    const finding = detectErrorStorm(fed([...four, toolFailed('edit', 'ENOENT: src/x.ts')]), DEFAULT_THRESHOLDS);
    expect(finding?.detector).toBe('error_storm');
    expect(finding?.reason).toBe('5 failures in a row (`bash` ×3, `edit` ×2)');
    expect(finding?.message).toContain(
      'Your last 5 attempts failed in a row (`bash` ×3, `edit` ×2). The latest error: "ENOENT: src/x.ts".',
    );
    expect(finding?.message).toContain('fix the root cause');
  });

  it('is reset by one successful result', () => {
    const events = [
      ...Array.from({ length: 4 }, () => toolFailed()),
      envelope('agent.tool_completed', { success: true }),
      toolFailed(),
    ];
    expect(detectErrorStorm(fed(events), DEFAULT_THRESHOLDS)).toBeNull();
  });

  it('counts non-fatal agent errors', () => {
    const events = [toolFailed(), toolFailed(), envelope('agent.error', { message: 'rate limited' })];
    expect(detectErrorStorm(fed(events), { ...DEFAULT_THRESHOLDS, errorStormAt: 3 })?.message).toContain(
      '"rate limited"',
    );
  });
});

describe('stuck', () => {
  it('fires after the threshold (default 5 minutes) without progress', () => {
    expect(DEFAULT_THRESHOLDS.stuckAfterMs).toBe(5 * MIN);
    const t = fed([envelope('agent.thinking')]);
    expect(detectStuck(t, T0 + 5 * MIN - 1, DEFAULT_THRESHOLDS)).toBeNull();
    const finding = detectStuck(t, T0 + 7 * MIN, DEFAULT_THRESHOLDS);
    expect(finding?.detector).toBe('stuck');
    expect(finding?.message).toContain('You have made no progress for 7 minutes (last activity: `agent.thinking`).');
  });

  it('names the tool call an agent may be hanging in', () => {
    const finding = detectStuck(fed([toolUse('npm run build')]), T0 + 6 * MIN, DEFAULT_THRESHOLDS);
    expect(finding?.message).toContain('(last activity: `bash` (command: npm run build))');
    expect(finding?.message).toContain('with a timeout or in the background');
  });

  it('does not count heartbeats as progress', () => {
    const t = fed([envelope('agent.thinking')]);
    t.apply(envelope('heartbeat'), T0 + 4 * MIN);
    expect(detectStuck(t, T0 + 6 * MIN, DEFAULT_THRESHOLDS)?.detector).toBe('stuck');
  });

  it('never fires while the agent waits for a human, and resumes once it acts again', () => {
    const t = fed([envelope('agent.waiting', { reason: 'needs approval' })]);
    expect(detectStuck(t, T0 + 24 * 60 * MIN, DEFAULT_THRESHOLDS)).toBeNull();
    t.apply(envelope('agent.message'), T0 + 60 * MIN);
    expect(detectStuck(t, T0 + 61 * MIN, DEFAULT_THRESHOLDS)).toBeNull();
    expect(detectStuck(t, T0 + 66 * MIN, DEFAULT_THRESHOLDS)?.detector).toBe('stuck');
  });
});

describe('detectOnEvent and sweep', () => {
  it('checks looping after a tool call and the error storm after a result or error only', () => {
    const thresholds = { ...DEFAULT_THRESHOLDS, loopingAt: 2, errorStormAt: 2 };
    const t = fed([toolUse('x'), toolFailed(), toolUse('x'), toolFailed()]);
    expect(detectOnEvent(t, 'agent.tool_use', thresholds).map((f) => f.detector)).toEqual(['looping']);
    expect(detectOnEvent(t, 'agent.tool_completed', thresholds).map((f) => f.detector)).toEqual(['error_storm']);
    expect(detectOnEvent(t, 'agent.error', thresholds).map((f) => f.detector)).toEqual(['error_storm']);
    expect(detectOnEvent(t, 'agent.thinking', thresholds)).toEqual([]);
  });

  it('sweeps every trajectory and returns the stuck ones by key', () => {
    const stale = fed([envelope('agent.thinking', {}, { id: 'stale' })], 'stale');
    const waiting = fed([envelope('agent.waiting', {}, { id: 'waiting' })], 'waiting');
    const busy = fed([envelope('agent.thinking', {}, { id: 'busy' })], 'busy');
    busy.apply(envelope('agent.thinking', {}, { id: 'busy' }), T0 + 9 * MIN);
    const found = sweep([stale, waiting, busy], T0 + 10 * MIN, DEFAULT_THRESHOLDS);
    expect(found.map(({ key, finding }) => [key, finding.detector])).toEqual([['sandbox:stale', 'stuck']]);
  });

  it('formats durations for people', () => {
    expect(formatDuration(1_000)).toBe('1 second');
    expect(formatDuration(45_000)).toBe('45 seconds');
    expect(formatDuration(7 * MIN)).toBe('7 minutes');
    expect(formatDuration(3 * 60 * MIN)).toBe('3 hours');
  });
});
