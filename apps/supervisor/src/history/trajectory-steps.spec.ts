import { digestTrajectory } from './trajectory-steps';
import { EnvelopeFactory } from '../spec-support';

const limits = { maxStepChars: 400, maxErrorChars: 200 };

describe('digestTrajectory', () => {
  it('pairs each tool use with its completion and says how it went', () => {
    const f = new EnvelopeFactory();
    const events = [
      ...f.command('npm ci', { success: true, exit_code: 0, stdout: 'added 12 packages' }),
      ...f.command('npm test', { success: false, exit_code: 1, stderr: 'lots of output\nExpected 2, received 3' }),
      ...f.command('sleep 100', { success: false, exit_code: null, timed_out: true, error: 'timed out after 1000 ms' }),
    ];
    expect(digestTrajectory(events, limits).steps).toEqual([
      'ran bash `npm ci` → ok (exit 0)',
      'ran bash `npm test` → failed (exit 1): lots of output Expected 2, received 3',
      'ran bash `sleep 100` → failed (timed out): timed out after 1000 ms',
    ]);
  });

  it('renders any JSON a sandbox reported as an argv, never throwing on it', () => {
    const f = new EnvelopeFactory();
    const events = [f.event('agent.tool_use', { tool: 'bash', input: { argv: ['echo', { toString: 1 }, 2, null] } })];
    expect(digestTrajectory(events, limits).steps).toEqual([
      'ran bash `echo {"toString":1} 2 null` → no result (the sandbox stopped before it finished)',
    ]);
  });

  it('pairs by call_id even when completions arrive out of order', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.tool_use', { tool: 'read', input: { path: 'a.ts' }, call_id: 'x' }),
      f.event('agent.tool_use', { tool: 'read', input: { path: 'b.ts' }, call_id: 'y' }),
      f.event('agent.tool_completed', { tool: 'read', call_id: 'y', success: false, error: 'ENOENT' }),
      f.event('agent.tool_completed', { tool: 'read', call_id: 'x', success: true }),
    ];
    expect(digestTrajectory(events, limits).steps).toEqual([
      'ran read `a.ts` → ok',
      'ran read `b.ts` → failed: ENOENT',
    ]);
  });

  it('pairs uses without call_id with the next completion of the same sandbox', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.tool_use', { tool: 'bash', command: 'make' }, 'sb-1'),
      f.event('agent.tool_use', { tool: 'bash', input: { argv: ['ls', '-la'] } }, 'sb-2'),
      f.event('agent.tool_completed', { tool: 'bash', exit_code: 2 }, 'sb-2'),
      f.event('agent.tool_completed', { tool: 'bash', exit_code: 0 }, 'sb-1'),
    ];
    // Exit code 0 is a success, as the dashboard shows it (one outcome reader in contracts, issue 15).
    expect(digestTrajectory(events, limits).steps).toEqual([
      'ran bash `make` → ok (exit 0)',
      'ran bash `ls -la` → failed (exit 2)',
    ]);
  });

  it('describes an interrupted command as interrupted, not failed, and one that says nothing as done', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.tool_use', { tool: 'bash', call_id: 'c1', input: { command: 'npm test' } }),
      f.event('agent.tool_completed', {
        tool: 'bash',
        call_id: 'c1',
        success: false,
        exit_code: 130,
        interrupted: true,
        error: 'interrupted',
      }),
      f.event('agent.tool_use', { tool: 'Read', call_id: 'c2', input: { path: 'a.ts' } }),
      f.event('agent.tool_completed', { tool: 'Read', call_id: 'c2' }),
    ];
    expect(digestTrajectory(events, limits).steps).toEqual([
      'ran bash `npm test` → interrupted (exit 130)',
      'ran Read `a.ts` → done',
    ]);
  });

  it('keeps a use that never completed, and a completion whose use was not read', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.tool_completed', { tool: 'bash', call_id: 'old', success: true }),
      f.event('agent.tool_use', { tool: 'bash', input: { command: 'npm run build' }, call_id: 'hung' }),
    ];
    expect(digestTrajectory(events, limits).steps).toEqual([
      'ran bash → ok',
      'ran bash `npm run build` → no result (the sandbox stopped before it finished)',
    ]);
  });

  it('falls back to the JSON of an unfamiliar input', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.tool_use', { tool: 'search', input: { q: 'x' } }),
      f.event('agent.tool_completed', { tool: 'search', success: true }),
    ];
    expect(digestTrajectory(events, limits).steps).toEqual(['ran search `{"q":"x"}` → ok']);
  });

  it('lists messages by speaker and leaves out the steering echo', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.message', { role: 'assistant', content: 'I will fix the test.' }),
      f.event('agent.message', { role: 'user', content: 'also update the README' }),
      f.event('agent.message', { role: 'system', kind: 'steering', from: 'guardian', content: 'stop looping' }),
      f.event('agent.message', { role: 'assistant', content: '   ' }),
    ];
    expect(digestTrajectory(events, limits).steps).toEqual([
      'agent said: I will fix the test.',
      'user said: also update the README',
    ]);
  });

  it('sums edits per file, ordered by latest edit', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.file_edited', { path: 'src/a.ts', created: true, additions: 10, deletions: 0 }),
      f.event('agent.file_edited', { path: 'src/b.ts', additions: 1, deletions: 1 }),
      f.event('agent.file_edited', { path: 'src/a.ts', additions: 2, deletions: 3 }),
      f.event('agent.file_edited', { diff: null }),
    ];
    const digest = digestTrajectory(events, limits);
    expect(digest.files).toEqual([
      { path: 'src/b.ts', created: false, edits: 1, additions: 1, deletions: 1 },
      { path: 'src/a.ts', created: true, edits: 2, additions: 12, deletions: 3 },
    ]);
    expect(digest.steps).toEqual([
      'edited src/a.ts (+10 -0)',
      'edited src/b.ts (+1 -1)',
      'edited src/a.ts (+2 -3)',
      'edited (unknown file)',
    ]);
  });

  it('records starts, errors, interrupts, interventions and the reported prompt', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.started', { prompt_preview: 'Fix the flaky test' }, 'sb-1'),
      f.event('agent.error', { message: 'write x failed' }),
      f.event('agent.interrupted', {}),
      f.event(
        'GUARDIAN_INTERVENTION',
        { detector: 'looping', reason: 'same command 5 times', message: 'try another approach' },
        'sb-1',
        'guardian',
      ),
      f.event('agent.started', { prompt_preview: 'ignored: the first one wins' }, 'sb-2'),
      f.event('heartbeat', { status: 'running' }),
      f.event('agent.thinking', { content: 'hmm' }),
    ];
    const digest = digestTrajectory(events, limits);
    expect(digest.reportedPrompt).toBe('Fix the flaky test');
    expect(digest.steps).toEqual([
      'worker started in sandbox sb-1',
      'error: write x failed',
      'the turn was interrupted',
      'worker started in sandbox sb-2',
    ]);
    expect(digest.interventions).toEqual(['[looping] same command 5 times — told the agent: try another approach']);
  });

  it('clips long steps and long error tails', () => {
    const f = new EnvelopeFactory();
    const events = [
      f.event('agent.message', { role: 'assistant', content: 'x'.repeat(1_000) }),
      ...f.command('npm test', { success: false, exit_code: 1, stderr: `${'a'.repeat(500)}THE END` }),
    ];
    const [message, command] = digestTrajectory(events, { maxStepChars: 50, maxErrorChars: 10 }).steps;
    expect(Array.from(message ?? '')).toHaveLength(50);
    expect(command).toBe('ran bash `npm test` → failed (exit 1): …aaTHE END');
  });

  it('digests nothing into an empty trajectory', () => {
    expect(digestTrajectory([], limits)).toEqual({ reportedPrompt: null, steps: [], files: [], interventions: [] });
  });
});
