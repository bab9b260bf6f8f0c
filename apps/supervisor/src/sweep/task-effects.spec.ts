import { DEFAULT_FAILURE_MESSAGE, taskCompleteEffect, taskEffectOf, usageOf } from './task-effects';

describe('taskEffectOf (what the original does to a task on each worker event)', () => {
  it('agent.started runs the task (a failed one again), never out of restarting or a final status', () => {
    const effect = taskEffectOf('agent.started', {});
    expect(effect).toMatchObject({ to: 'running', usage: null });
    expect(effect?.from).toEqual(['pending', 'starting', 'failed']);
  });

  it('agent.completed moves nothing (the original waits for its continuous mode) and adds its cost', () => {
    const effect = taskEffectOf('agent.completed', {
      success: true,
      cost_usd: 0.25,
      input_tokens: 1200,
      output_tokens: 300,
      cache_read_tokens: 50,
      cache_write_tokens: 7,
      session_id: 's',
    });
    expect(effect).toEqual({
      to: null,
      from: [],
      usage: { costUsd: 0.25, inputTokens: 1200, outputTokens: 300, cacheReadTokens: 50, cacheWriteTokens: 7 },
      errorMessage: null,
    });
  });

  it('continuous.completed completes the task only when its validation passed, and never counts total_cost_usd twice', () => {
    expect(taskEffectOf('continuous.completed', { validation_passed: true, total_cost_usd: 3 })).toMatchObject({
      to: 'completed',
      usage: null,
    });
    expect(
      taskEffectOf('continuous.completed', { validation_passed: false, stop_reason: 'max_iterations_reached' }),
    ).toMatchObject({ to: null });
    expect(taskEffectOf('continuous.completed', { validation_passed: 'yes' })).toMatchObject({ to: null });
  });

  it("agent.failed and agent.error fail the task with their error, but not a relay worker's recoverable error", () => {
    expect(taskEffectOf('agent.error', { error: 'Initial task failed: boom' })).toMatchObject({
      to: 'failed',
      errorMessage: 'Initial task failed: boom',
    });
    expect(taskEffectOf('agent.failed', {})).toMatchObject({ to: 'failed', errorMessage: DEFAULT_FAILURE_MESSAGE });
    expect(taskEffectOf('agent.error', { message: 'agent crashed', fatal: true })).toMatchObject({
      to: 'failed',
      errorMessage: 'agent crashed',
    });
    expect(taskEffectOf('agent.error', { message: 'invalid plan', fatal: false })).toBeNull();
    expect(taskEffectOf('agent.error', {})?.from).toEqual(['pending', 'starting', 'running']);
  });

  it('keeps at most 10 000 units of the error, never half an emoji at the cut (the column refuses a lone surrogate)', () => {
    const error = `${'x'.repeat(9_999)}🎉tail`;
    expect(taskEffectOf('agent.error', { error })?.errorMessage).toBe('x'.repeat(9_999));
  });

  it('ignores every other event', () => {
    for (const type of ['heartbeat', 'agent.heartbeat', 'agent.tool_use', 'agent.waiting', 'TASK_COMPLETED'])
      expect(taskEffectOf(type, { cost_usd: 1 })).toBeNull();
  });
});

describe('usageOf', () => {
  it('reads the SDK usage object when the flat fields are absent', () => {
    expect(
      usageOf({
        usage: { input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 3, cache_creation_input_tokens: 4 },
      }),
    ).toEqual({
      costUsd: 0,
      inputTokens: 10,
      outputTokens: 2,
      cacheReadTokens: 3,
      cacheWriteTokens: 4,
    });
  });

  it('leaves out what cannot be a cost or a count, and is null when nothing is left', () => {
    expect(usageOf({ cost_usd: -1, input_tokens: 1.5, output_tokens: '9', cache_read_tokens: null })).toBeNull();
    expect(usageOf({ cost_usd: Number.POSITIVE_INFINITY, input_tokens: 5 })).toEqual({
      costUsd: 0,
      inputTokens: 5,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
    expect(usageOf({})).toBeNull();
  });
});

describe('taskCompleteEffect', () => {
  it('completes from any status a report may move, fails from the running ones', () => {
    expect(taskCompleteEffect(true, 'ignored')).toEqual({
      to: 'completed',
      from: ['pending', 'starting', 'running', 'failed'],
      usage: null,
      errorMessage: null,
    });
    expect(taskCompleteEffect(false, null)).toMatchObject({ to: 'failed', errorMessage: DEFAULT_FAILURE_MESSAGE });
    expect(taskCompleteEffect(false, 'tests failed')).toMatchObject({ errorMessage: 'tests failed' });
  });
});
