import { envelope, toolFailed, toolUse } from '../spec-support';
import { Trajectory, trajectoryKey } from './trajectory';

const T0 = 1_000_000;

function trajectory(maxEvents = 20): Trajectory {
  return new Trajectory('sandbox', 'sb-1', T0, maxEvents);
}

describe('Trajectory', () => {
  it('is keyed by entity type and id', () => {
    expect(trajectory().key).toBe('sandbox:sb-1');
    expect(trajectoryKey('task', 't-9')).toBe('task:t-9');
  });

  it('keeps a bounded ring of the most recent events', () => {
    const t = trajectory(3);
    for (let i = 0; i < 5; i += 1) t.apply(envelope('agent.thinking', { n: i }), T0 + i);
    expect(t.recent.map((event) => event.data.n)).toEqual([2, 3, 4]);
  });

  it('cuts big payloads to a preview in the ring', () => {
    const t = trajectory();
    t.apply(envelope('agent.file_edited', { diff: 'x'.repeat(10_000) }), T0);
    expect(t.recent[0]?.data).toEqual({ _truncated: true, preview: expect.any(String) });
    expect(String(t.recent[0]?.data.preview).length).toBe(2_048);
  });

  it('counts every event but a heartbeat as progress', () => {
    const t = trajectory();
    t.apply(envelope('heartbeat'), T0 + 10);
    expect(t.lastProgressAt).toBe(T0);
    expect(t.lastSeenAt).toBe(T0 + 10);
    t.apply(envelope('agent.thinking'), T0 + 20);
    expect(t.lastProgressAt).toBe(T0 + 20);
    expect(t.lastActivity).toEqual({ eventType: 'agent.thinking', at: T0 + 20, call: null });
  });

  it('waits from agent.waiting (or agent.interrupted) until the next activity, heartbeats aside', () => {
    const t = trajectory();
    t.apply(envelope('agent.waiting'), T0 + 1);
    t.apply(envelope('heartbeat'), T0 + 2);
    t.apply(envelope('agent.waiting'), T0 + 3); // re-announced: the wait began at the first
    expect(t.waitingSince).toBe(T0 + 1);
    t.apply(envelope('agent.thinking'), T0 + 4);
    expect(t.waitingSince).toBeNull();
    t.apply(envelope('agent.interrupted'), T0 + 5);
    expect(t.waitingSince).toBe(T0 + 5);
  });

  it('counts the same tool call in a row, and restarts the count on a different call', () => {
    const t = trajectory();
    t.apply(toolUse('npm test'), T0);
    t.apply(envelope('agent.tool_completed', { tool: 'bash', success: true }), T0);
    t.apply(toolUse('npm test', { call_id: 'other' }), T0);
    expect(t.repeat?.count).toBe(2);
    expect(t.repeat?.call.tool).toBe('bash');
    t.apply(toolUse('npm run lint'), T0);
    expect(t.repeat).toMatchObject({ count: 1, call: { summary: 'command: npm run lint' } });
  });

  it('never counts nameless tool calls as a repeat, and lets them break a streak', () => {
    const t = trajectory();
    for (let seq = 0; seq < 5; seq += 1) t.apply(envelope('agent.tool_use', { seq }), T0 + seq);
    expect(t.repeat).toBeNull();
    t.apply(envelope('agent.tool_use', { tool: 'bash', input: { command: 'ls' } }), T0 + 10);
    t.apply(envelope('agent.tool_use', { tool: 'bash', input: { command: 'ls' } }), T0 + 11);
    t.apply(envelope('agent.tool_use', { seq: 9 }), T0 + 12);
    expect(t.repeat).toBeNull();
  });

  it('breaks the repeat on a file edit (edit, re-run is work, not a loop)', () => {
    const t = trajectory();
    t.apply(toolUse('npm test'), T0);
    t.apply(toolUse('npm test'), T0);
    t.apply(envelope('agent.file_edited', { path: 'a.ts' }), T0);
    t.apply(toolUse('npm test'), T0);
    expect(t.repeat?.count).toBe(1);
  });

  it('counts failed results and non-fatal agent errors in a row; a success resets', () => {
    const t = trajectory();
    t.apply(toolFailed('bash', 'exit 1'), T0);
    t.apply(envelope('agent.tool_completed', { tool: 'edit', exit_code: 1 }), T0);
    t.apply(envelope('agent.error', { message: 'model overloaded' }), T0);
    expect(t.failures).toEqual({ count: 3, tools: ['bash', 'edit', 'agent.error'], lastError: 'model overloaded' });
    t.apply(envelope('agent.tool_completed', { tool: 'bash', exit_code: 0 }), T0);
    expect(t.failures).toEqual({ count: 0, tools: [], lastError: null });
  });

  it('names a failed result without a tool after the call it answers', () => {
    const t = trajectory();
    t.apply(toolUse('make'), T0);
    t.apply(envelope('agent.tool_completed', { success: false }), T0);
    expect(t.failures.tools).toEqual(['bash']);
  });

  it('ends on agent.completed and on a fatal agent.error', () => {
    expect(trajectory().apply(envelope('agent.completed'), T0)).toBe('terminal');
    expect(trajectory().apply(envelope('agent.error', { fatal: true }), T0)).toBe('terminal');
    expect(trajectory().apply(envelope('agent.error', { recoverable: false }), T0)).toBe('terminal');
    expect(trajectory().apply(envelope('agent.error', { fatal: false }), T0)).toBe('tracked');
  });

  it('resets its streaks when a new run starts in the sandbox', () => {
    const t = trajectory();
    t.apply(toolUse('npm test'), T0);
    t.apply(toolFailed(), T0);
    t.apply(envelope('agent.started'), T0);
    expect(t.repeat).toBeNull();
    expect(t.failures.count).toBe(0);
  });

  it('ignores a replayed event (an id it has already seen) so streaks are not inflated', () => {
    const t = trajectory();
    const call = toolUse('npm test');
    expect(t.apply(call, T0)).toBe('tracked');
    expect(t.apply(call, T0)).toBe('duplicate');
    expect(t.apply({ ...toolUse('npm test'), id: '0' }, T0)).toBe('duplicate');
    expect(t.repeat?.count).toBe(1);
    // A hand-made event with a non-numeric id cannot be compared and is accepted.
    expect(t.apply({ ...toolUse('npm test'), id: 'manual' }, T0)).toBe('tracked');
  });

  it('hands out a snapshot that later events do not change', () => {
    const t = trajectory();
    t.apply(toolFailed(), T0);
    const snapshot = t.snapshot();
    t.apply(toolFailed(), T0 + 1);
    expect(snapshot.failures.count).toBe(1);
    expect(snapshot.recent).toHaveLength(1);
    expect(t.failures.count).toBe(2);
  });
});
