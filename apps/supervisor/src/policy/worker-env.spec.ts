import { workerEnvFor } from './worker-env';

describe('workerEnvFor', () => {
  const base = { relayUrl: 'http://relay:18000', taskId: 'task-1', heartbeatIntervalMs: 15_000 };

  it('hands the worker its task, cadence and (for a replacement) the resume context', () => {
    const env = workerEnvFor({
      ...base,
      spec: { agent: 'shell', agent_id: 'a', plan: [{ run: 'npm test' }], prompt: 'fix it' },
      context: 'resuming',
    });
    expect(env).toEqual({
      RELAY_URL: 'http://relay:18000',
      CALLBACK_URL: 'http://relay:18000',
      AGENT_ID: 'a',
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
        worker_env: {
          POLL_INTERVAL_MS: '100',
          RELAY_URL: 'http://elsewhere',
          CALLBACK_URL: 'http://elsewhere',
          RELAY_TOKEN: 'forged',
          TASK_ID: 'other',
          TASK_PLAN: '[]',
          TASK_CONTEXT: 'forged',
          HEARTBEAT_INTERVAL_MS: '1',
        },
      },
    });
    expect(env).toMatchObject({
      POLL_INTERVAL_MS: '100',
      RELAY_URL: 'http://relay:18000',
      CALLBACK_URL: 'http://relay:18000',
      TASK_ID: 'task-1',
      HEARTBEAT_INTERVAL_MS: '15000',
      AGENT: 'claude',
    });
    expect(env.RELAY_TOKEN).toBeUndefined();
    expect(env.TASK_PLAN).toBeUndefined();
    expect(env.TASK_CONTEXT).toBeUndefined();
  });

  it("gives an original-system worker (which sends no credentials) its token in CALLBACK_URL's userinfo", () => {
    const env = workerEnvFor({
      ...base,
      spec: { agent: 'shell', agent_id: 'agent-7', plan: [] },
      token: 'eyJ.a-b_c.d',
    });
    expect(env.RELAY_TOKEN).toBe('eyJ.a-b_c.d');
    expect(env.RELAY_URL).toBe('http://relay:18000');
    expect(env.CALLBACK_URL).toBe('http://sandbox:eyJ.a-b_c.d@relay:18000');
    expect(new URL(`${env.CALLBACK_URL}/api/v1/sandboxes/s/events`).password).toBe('eyJ.a-b_c.d');
    expect(env.AGENT_ID).toBe('agent-7');
  });
});
