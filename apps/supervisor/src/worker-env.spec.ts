import { workerEnvFor } from './worker-env';

describe('workerEnvFor', () => {
  const base = { relayUrl: 'http://relay:18000', taskId: 'task-1', heartbeatIntervalMs: 15_000 };

  it('hands the worker its task, cadence and (for a replacement) the resume context', () => {
    const env = workerEnvFor({ ...base, spec: { agent: 'shell', agent_id: 'a', plan: [{ run: 'npm test' }], prompt: 'fix it' }, context: 'resuming' });
    expect(env).toEqual({
      RELAY_URL: 'http://relay:18000',
      TASK_ID: 'task-1',
      AGENT: 'shell',
      HEARTBEAT_INTERVAL_MS: '15000',
      TASK_PLAN: '[{"run":"npm test"}]',
      TASK_PROMPT: 'fix it',
      TASK_CONTEXT: 'resuming',
    });
  });

  it('lets worker_env tune the worker but never redirect it or change its task', () => {
    const env = workerEnvFor({
      ...base,
      spec: {
        agent: 'claude',
        agent_id: 'a',
        prompt: 'p',
        worker_env: { POLL_INTERVAL_MS: '100', RELAY_URL: 'http://elsewhere', TASK_ID: 'other', TASK_PLAN: '[]', TASK_CONTEXT: 'forged', HEARTBEAT_INTERVAL_MS: '1' },
      },
    });
    expect(env).toMatchObject({ POLL_INTERVAL_MS: '100', RELAY_URL: 'http://relay:18000', TASK_ID: 'task-1', HEARTBEAT_INTERVAL_MS: '15000', AGENT: 'claude' });
    expect(env.TASK_PLAN).toBeUndefined();
    expect(env.TASK_CONTEXT).toBeUndefined();
  });
});
