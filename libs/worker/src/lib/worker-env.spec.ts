import path from 'node:path';
import { parseWorkerEnv, redactedConfig, WorkerConfigError } from './worker-env';
import { createAgent } from './run-worker';

const required = { RELAY_URL: 'http://relay.local:18000/', SANDBOX_ID: 'sbx-1', TASK_ID: 'task-1' };

function problemsOf(source: Record<string, string | undefined>): string[] {
  try {
    parseWorkerEnv(source);
  } catch (error) {
    if (error instanceof WorkerConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a WorkerConfigError');
}

describe('parseWorkerEnv', () => {
  it('applies the documented defaults and trims the relay URL', () => {
    const config = parseWorkerEnv(required);
    expect(config).toMatchObject({
      RELAY_URL: 'http://relay.local:18000',
      AGENT: 'shell',
      HEARTBEAT_INTERVAL_MS: 15_000,
      POLL_INTERVAL_MS: 1_000,
      OUTBOX_MAX_EVENTS: 10_000,
      WORKSPACE_DIR: path.resolve('.'),
    });
    expect(config.RELAY_TOKEN).toBeUndefined();
  });

  it('coerces numbers and treats blank variables as unset', () => {
    const config = parseWorkerEnv({ ...required, HEARTBEAT_INTERVAL_MS: '250', RELAY_TOKEN: '  ', TASK_PROMPT: '' });
    expect(config.HEARTBEAT_INTERVAL_MS).toBe(250);
    expect(config.RELAY_TOKEN).toBeUndefined();
    expect(config.TASK_PROMPT).toBeUndefined();
  });

  it('names every missing or malformed variable in one error', () => {
    const problems = problemsOf({ RELAY_URL: 'ftp://relay', SANDBOX_ID: 'has space', POLL_INTERVAL_MS: 'soon' });
    expect(problems).toEqual([
      'RELAY_URL: must be an http:// or https:// URL',
      'SANDBOX_ID: must match [A-Za-z0-9._-]{1,128}',
      'TASK_ID: is required but not set',
      expect.stringMatching(/^POLL_INTERVAL_MS: /),
    ]);
  });

  it('refuses a TASK_PLAN the shell agent could not run, naming the step', () => {
    expect(problemsOf({ ...required, TASK_PLAN: '[{"run": "ls"}, {"rn": "ls"}]' })).toEqual([
      'TASK_PLAN: steps[1]: must have exactly one of run, write, say, think, sleep_ms (found none)',
    ]);
    expect(problemsOf({ ...required, TASK_PLAN: '[{' })[0]).toMatch(/^TASK_PLAN: not valid JSON/);
  });

  it('refuses AGENT=claude without an API key, and selects the Claude adapter with one', () => {
    expect(problemsOf({ ...required, AGENT: 'claude' })).toEqual(['ANTHROPIC_API_KEY: is required when AGENT=claude']);
    expect(
      problemsOf({ ...required, AGENT: 'claude', ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: 'ftp://x' }),
    ).toEqual(['ANTHROPIC_BASE_URL: must be an http:// or https:// URL']);
    const deps = { logger: { debug() {}, info() {}, warn() {}, error() {} }, commandEnv: {} };
    const claude = parseWorkerEnv({
      ...required,
      AGENT: 'claude',
      ANTHROPIC_API_KEY: 'sk-test',
      ANTHROPIC_MODEL: 'claude-sonnet-4-5',
    });
    // Constructing it loads nothing: the SDK is imported when the first turn starts.
    expect(createAgent(claude, deps).kind).toBe('claude');
    expect(createAgent(parseWorkerEnv({ ...required, ANTHROPIC_API_KEY: 'sk-test' }), deps).kind).toBe('shell');
    expect(JSON.stringify(redactedConfig(claude))).not.toContain('sk-test');
  });

  it('keeps secrets and task text out of the loggable config', () => {
    const config = parseWorkerEnv({ ...required, RELAY_TOKEN: 'secret-token', TASK_PROMPT: 'do the thing' });
    const logged = JSON.stringify(redactedConfig(config));
    expect(logged).not.toContain('secret-token');
    expect(logged).not.toContain('do the thing');
    expect(redactedConfig(config)).toMatchObject({ RELAY_TOKEN: '[redacted]', TASK_PROMPT: '12 chars' });
  });
});
