import {
  buildTrajectoryContext,
  TRAJECTORY_EVENT_TYPES,
  trajectoryEventQuery,
  type TrajectoryContextInput,
} from './trajectory-context';
import { EnvelopeFactory } from '../spec-support';
import { utf8Bytes } from './text-bounds';

describe('trajectoryEventQuery', () => {
  it('asks for the old sandboxes’ trajectory events, a full page by default', () => {
    expect(trajectoryEventQuery(['sb-1', 'sb-2', 'sb-1'])).toEqual({
      entityTypes: ['sandbox'],
      entityIds: ['sb-1', 'sb-2'],
      eventTypes: TRAJECTORY_EVENT_TYPES,
      order: 'desc',
      limit: 1_000,
    });
    expect(trajectoryEventQuery(['sb-1'], { before: '42', limit: 10 })).toMatchObject({
      before: '42',
      limit: 10,
      order: 'desc',
    });
  });

  it('leaves heartbeats and thinking out', () => {
    expect(TRAJECTORY_EVENT_TYPES).not.toContain('heartbeat');
    expect(TRAJECTORY_EVENT_TYPES).not.toContain('agent.thinking');
    expect(TRAJECTORY_EVENT_TYPES).toEqual(
      expect.arrayContaining([
        'agent.tool_use',
        'agent.tool_completed',
        'agent.message',
        'agent.file_edited',
        'GUARDIAN_INTERVENTION',
      ]),
    );
  });
});

describe('buildTrajectoryContext', () => {
  function input(overrides: Partial<TrajectoryContextInput> = {}): TrajectoryContextInput {
    const f = new EnvelopeFactory();
    return {
      taskId: 'task-1',
      taskPrompt: 'Make the test suite pass',
      oldSandboxId: 'sb-1',
      reason: 'missed_heartbeats',
      restartCount: 2,
      events: [
        f.event('agent.started', { prompt_preview: 'Make the test suite pass' }),
        f.event('agent.message', { role: 'assistant', content: 'Running the tests first.' }),
        ...f.command('npm test', { success: false, exit_code: 1, stderr: 'FAIL src/sum.spec.ts' }),
        f.event('agent.file_edited', { path: 'src/sum.ts', additions: 1, deletions: 1 }),
        f.event(
          'GUARDIAN_INTERVENTION',
          { detector: 'looping', reason: 'npm test 4 times', message: 'read the failing test' },
          'sb-1',
          'guardian',
        ),
        f.event('agent.tool_use', { tool: 'bash', input: { command: 'npm test -- --watch' }, call_id: 'c9' }),
      ],
      ...overrides,
    };
  }

  it('tells the new worker what happened, in a stable plain-text layout', () => {
    expect(buildTrajectoryContext(input()).text).toBe(
      [
        'You are resuming task task-1. Its previous sandbox (sb-1) was restarted by the supervisor: missed_heartbeats.',
        'This is restart 2 of this task. Continue from where the previous run stopped; do not redo finished steps, and check the workspace before repeating a command.',
        '',
        '## Original task',
        'Make the test suite pass',
        '',
        '## Files edited (latest last)',
        '- src/sum.ts: 1 edit, +1 -1',
        '',
        '## Guardian interventions',
        '- [looping] npm test 4 times — told the agent: read the failing test',
        '',
        '## What the previous run did (oldest first)',
        '- worker started in sandbox sb-1',
        '- agent said: Running the tests first.',
        '- ran bash `npm test` → failed (exit 1): FAIL src/sum.spec.ts',
        '- edited src/sum.ts (+1 -1)',
        '- ran bash `npm test -- --watch` → no result (the sandbox stopped before it finished)',
      ].join('\n'),
    );
  });

  it('is deterministic', () => {
    const once = input();
    expect(buildTrajectoryContext(once)).toEqual(buildTrajectoryContext(once));
  });

  it('falls back to the reported prompt, then to a placeholder', () => {
    expect(buildTrajectoryContext(input({ taskPrompt: null })).text).toContain(
      '## Original task\nMake the test suite pass',
    );
    expect(buildTrajectoryContext(input({ taskPrompt: '  ', events: [] })).text).toContain(
      '(the original prompt was not recorded)',
    );
  });

  it('says so when there are no steps', () => {
    const context = buildTrajectoryContext(input({ events: [] }));
    expect(context.text.endsWith('(no steps were recorded)')).toBe(true);
    expect(context).toMatchObject({ totalSteps: 0, omittedSteps: 0 });
  });

  it('keeps the newest steps within maxBytes and counts the omitted ones', () => {
    const f = new EnvelopeFactory();
    const events = Array.from({ length: 500 }, (_, index) =>
      f.event('agent.message', { role: 'assistant', content: `step ${index} ${'x'.repeat(100)}` }),
    );
    const context = buildTrajectoryContext(input({ events }));
    expect(context.bytes).toBeLessThanOrEqual(8 * 1024);
    expect(context.bytes).toBe(utf8Bytes(context.text));
    expect(context.totalSteps).toBe(500);
    expect(context.omittedSteps).toBeGreaterThan(400);
    expect(context.text).toContain(
      `…${context.omittedSteps} earlier steps omitted\n- agent said: step ${context.omittedSteps} `,
    );
    expect(context.text).toContain('agent said: step 499 ');
    expect(context.text).not.toContain('agent said: step 0 ');
  });

  it('honours a small byte bound with multi-byte text, prompt and all', () => {
    const f = new EnvelopeFactory();
    const events = Array.from({ length: 50 }, () => f.event('agent.message', { content: 'ünïcödé 😀 '.repeat(20) }));
    for (const maxBytes of [200, 600, 1_500]) {
      const context = buildTrajectoryContext(input({ events, taskPrompt: '😀'.repeat(3_000) }), { maxBytes });
      expect(context.bytes).toBeLessThanOrEqual(maxBytes);
      expect(context.text.isWellFormed()).toBe(true);
    }
  });

  it('clips the prompt and bounds files and interventions', () => {
    const f = new EnvelopeFactory();
    const events = [
      ...Array.from({ length: 8 }, (_, index) =>
        f.event('agent.file_edited', { path: `f${index}.ts`, additions: 1, deletions: 0 }),
      ),
      ...Array.from({ length: 4 }, (_, index) =>
        f.event('GUARDIAN_INTERVENTION', { detector: 'stuck', reason: `r${index}` }),
      ),
    ];
    const text = buildTrajectoryContext(input({ events, taskPrompt: 'p'.repeat(50) }), {
      maxPromptChars: 10,
      maxFiles: 3,
      maxInterventions: 2,
    }).text;
    expect(text).toContain(`## Original task\n${'p'.repeat(9)}…\n`);
    expect(text).toContain('…5 more files\n- f5.ts: 1 edit, +1 -0\n- f6.ts: 1 edit, +1 -0\n- f7.ts: 1 edit, +1 -0\n');
    expect(text).toContain('…2 earlier interventions\n- [stuck] r2\n- [stuck] r3\n');
  });

  it('keeps every step and adds no note when they all fit', () => {
    const context = buildTrajectoryContext(input());
    expect(context).toMatchObject({ totalSteps: 5, omittedSteps: 0 });
    expect(context.text).not.toContain('omitted');
  });
});
