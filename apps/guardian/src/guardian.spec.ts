import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventEnvelope } from '@sandbox-relay/contracts';
import type { InterventionAnalyzer } from './policy/analyzer';
import { MemoryCooldownGate, type CooldownGate } from './policy/cooldown';
import { Guardian, type GuardianConfig } from './guardian';
import type { InterventionRecord, InterventionRecorder, TaskLookup } from './steering/intervener';
import { ConversationFileSink } from './steering/legacy-conversation-sink';
import {
  InterventionRouter,
  type GuardianTask,
  type SandboxMessage,
  type SandboxMessageSink,
} from './steering/routing';
import { captureLogger, envelope, ManualClock, toolFailed, toolUse } from './spec-support';

const MIN = 60_000;

class FakeTasks implements TaskLookup {
  readonly calls: string[] = [];
  failing = false;
  constructor(private readonly tasks: GuardianTask[] = []) {}
  async bySandboxId(sandboxId: string): Promise<GuardianTask | null> {
    return this.find(`sandbox:${sandboxId}`, (task) => task.sandboxId === sandboxId);
  }
  async byId(taskId: string): Promise<GuardianTask | null> {
    return this.find(`task:${taskId}`, (task) => task.id === taskId);
  }
  private find(call: string, match: (task: GuardianTask) => boolean): GuardianTask | null {
    this.calls.push(call);
    if (this.failing) throw new Error('database unavailable');
    return this.tasks.find(match) ?? null;
  }
}

class FakeSandboxSink implements SandboxMessageSink {
  readonly sent: SandboxMessage[] = [];
  /** How many sends fail before they succeed again. */
  failures = 0;
  async send(message: SandboxMessage): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('queue unavailable');
    }
    this.sent.push(message);
  }
}

class FakeRecorder implements InterventionRecorder {
  readonly records: InterventionRecord[] = [];
  failing = false;
  async record(record: InterventionRecord): Promise<void> {
    if (this.failing) throw new Error('store unavailable');
    this.records.push(record);
  }
}

const SANDBOX_TASK: GuardianTask = { id: 'task-123', sandboxId: 'sb-1', agentId: 'agent-456' };

function setup(
  options: {
    tasks?: GuardianTask[];
    config?: Partial<GuardianConfig>;
    analyzer?: InterventionAnalyzer;
    gate?: CooldownGate;
  } = {},
) {
  const clock = new ManualClock();
  const tasks = new FakeTasks(options.tasks ?? [SANDBOX_TASK]);
  const sandbox = new FakeSandboxSink();
  const recorder = new FakeRecorder();
  const { logger, lines } = captureLogger();
  const guardian = new Guardian({
    tasks,
    gate: options.gate ?? new MemoryCooldownGate(clock.now),
    router: new InterventionRouter(sandbox, new ConversationFileSink()),
    recorder,
    logger,
    analyzer: options.analyzer,
    now: clock.now,
    config: options.config,
  });
  const observeAll = async (events: EventEnvelope[]) => {
    for (const event of events) await guardian.observe(event);
  };
  return { clock, tasks, sandbox, recorder, lines, guardian, observeAll };
}

const errorsLogged = (lines: Array<Record<string, unknown>>) =>
  lines.filter((line) => Number(line.level) >= 50).map((line) => line.msg);

describe('Guardian: looping', () => {
  it('routes and records one intervention after 3 identical tool calls', async () => {
    const { sandbox, recorder, observeAll } = setup();
    await observeAll([toolUse('npm test'), toolUse('npm test', { call_id: 'x' })]);
    expect(sandbox.sent).toEqual([]);
    await observeAll([toolUse('npm test')]);
    expect(sandbox.sent).toHaveLength(1);
    expect(sandbox.sent[0]).toMatchObject({
      sandboxId: 'sb-1',
      messageType: 'guardian_intervention',
      idempotencyKey: expect.stringMatching(/^guardian:looping:\d+:sandbox:sb-1$/),
    });
    expect(sandbox.sent[0]?.content).toContain(
      'You have run `bash` with the same arguments 3 times in a row (command: npm test).',
    );
    expect(recorder.records).toEqual([
      {
        entityType: 'sandbox',
        entityId: 'sb-1',
        taskId: 'task-123',
        detector: 'looping',
        reason: 'same bash call 3 times in a row (command: npm test)',
        message: sandbox.sent[0]?.content,
        routed: 'sandbox',
        idempotencyKey: sandbox.sent[0]?.idempotencyKey,
      },
    ]);
  });

  it('sends nothing more within the cooldown window, and again once it has passed', async () => {
    const { clock, sandbox, tasks, observeAll } = setup({ config: { cooldownMs: 10 * MIN } });
    await observeAll([toolUse('npm test'), toolUse('npm test'), toolUse('npm test')]);
    const lookups = tasks.calls.length;
    await observeAll([
      toolUse('npm test'),
      toolUse('npm test'),
      toolFailed(),
      toolFailed(),
      toolFailed(),
      toolFailed(),
      toolFailed(),
    ]);
    expect(sandbox.sent).toHaveLength(1);
    // Held off locally: no task lookup per event while the window lasts.
    expect(tasks.calls).toHaveLength(lookups);
    clock.advance(10 * MIN);
    await observeAll([toolUse('npm test')]);
    expect(sandbox.sent).toHaveLength(2);
    expect(sandbox.sent[1]?.content).toContain('6 times in a row');
    expect(sandbox.sent[1]?.idempotencyKey).not.toBe(sandbox.sent[0]?.idempotencyKey);
  });

  it('does not feed its own interventions or message bookkeeping into the trajectory', async () => {
    const { guardian, sandbox, observeAll } = setup();
    await observeAll([
      toolUse('npm test'),
      toolUse('npm test'),
      envelope('GUARDIAN_INTERVENTION', { detector: 'looping' }),
      envelope('SANDBOX_MESSAGE_QUEUED', { message_id: '1' }),
      envelope('SANDBOX_MESSAGE_QUEUED', {}, { id: 'other-sandbox' }),
    ]);
    expect(guardian.trackedKeys).toBe(1);
    await observeAll([toolUse('npm test')]);
    expect(sandbox.sent).toHaveLength(1);
  });

  it('starts over after AGENT_RESTARTED', async () => {
    const { sandbox, observeAll } = setup();
    await observeAll([toolUse('npm test'), toolUse('npm test'), envelope('AGENT_RESTARTED'), toolUse('npm test')]);
    expect(sandbox.sent).toEqual([]);
  });
});

describe('Guardian: routing by task', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'guardian-e2e-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('looks a local agent up by task id and writes to its conversation', async () => {
    const local: GuardianTask = { id: 'task-local', sandboxId: null, conversationDir: path.join(dir, 'conv') };
    const { tasks, sandbox, recorder, observeAll } = setup({ tasks: [local], config: { errorStormAt: 2 } });
    const entity = { type: 'task', id: 'task-local' };
    await observeAll([
      envelope('agent.tool_completed', { tool: 'bash', exit_code: 1 }, entity),
      envelope('agent.error', { message: 'oops' }, entity),
    ]);
    expect(tasks.calls).toEqual(['task:task-local']);
    expect(sandbox.sent).toEqual([]);
    const line = JSON.parse(await readFile(path.join(dir, 'conv', 'interventions.jsonl'), 'utf8'));
    expect(line).toMatchObject({
      type: 'guardian_intervention',
      task_id: 'task-local',
      content: expect.stringContaining('Your last 2 attempts failed'),
    });
    expect(recorder.records[0]).toMatchObject({
      entityType: 'task',
      taskId: 'task-local',
      detector: 'error_storm',
      routed: 'legacy',
    });
  });

  it('records a task it cannot reach as dropped, with the reason, once per window', async () => {
    const { recorder, observeAll } = setup({ tasks: [{ id: 'task-x', sandboxId: null }] });
    const entity = { type: 'task', id: 'task-x' };
    await observeAll(
      Array.from({ length: 5 }, () => envelope('agent.tool_use', { tool: 'bash', command: 'ls' }, entity)),
    );
    expect(recorder.records).toEqual([
      expect.objectContaining({
        routed: 'dropped',
        routeReason: 'task task-x has neither a sandbox nor a conversation directory',
      }),
    ]);
  });

  it('steers a sandbox no task claims through its own queue, unless configured not to', async () => {
    const open = setup({ tasks: [] });
    await open.observeAll([toolUse('ls'), toolUse('ls'), toolUse('ls')]);
    expect(open.sandbox.sent.map((message) => message.sandboxId)).toEqual(['sb-1']);
    expect(open.recorder.records[0]).toMatchObject({ taskId: null, routed: 'sandbox' });

    const closed = setup({ tasks: [], config: { routeUnknownSandboxes: false } });
    await closed.observeAll([toolUse('ls'), toolUse('ls'), toolUse('ls')]);
    expect(closed.sandbox.sent).toEqual([]);
    expect(closed.recorder.records[0]).toMatchObject({
      routed: 'dropped',
      routeReason: 'no task found for sandbox:sb-1',
    });
  });
});

describe('Guardian: stuck sweep', () => {
  it('intervenes for a silent agent, not for one waiting for a human, and forgets vanished ones', async () => {
    const { clock, guardian, sandbox, recorder, observeAll } = setup({
      tasks: [],
      config: { forgetSilentAfterMs: 30 * MIN },
    });
    await observeAll([
      envelope('agent.thinking', {}, { id: 'silent' }),
      envelope('agent.waiting', {}, { id: 'waiting' }),
    ]);
    clock.advance(4 * MIN);
    await guardian.sweep();
    expect(sandbox.sent).toEqual([]);
    clock.advance(2 * MIN);
    await observeAll([envelope('heartbeat', {}, { id: 'silent' })]);
    await guardian.sweep();
    expect(sandbox.sent.map((message) => message.sandboxId)).toEqual(['silent']);
    expect(sandbox.sent[0]?.content).toContain('no progress for 6 minutes');
    expect(recorder.records[0]).toMatchObject({ detector: 'stuck', entityId: 'silent' });
    clock.advance(31 * MIN);
    await guardian.sweep();
    expect(guardian.trackedKeys).toBe(0);
  });
});

describe("Guardian: the supervisor's events are not agent activity", () => {
  // The supervisor stores its events on the sandbox and on the task (supervisor-deps.ts `emit`).
  const both = (eventType: string, payload: Record<string, unknown> = {}) => [
    envelope(eventType, payload, { id: 'sb-1' }),
    envelope(eventType, payload, { type: 'task', id: 'task-123' }),
  ];

  it("does not flag a working sandbox agent as stuck through its task's TASK_STARTED", async () => {
    const { clock, guardian, sandbox, recorder, observeAll } = setup();
    await observeAll([...both('TASK_STARTED', { task_id: 'task-123', sandbox_id: 'sb-1' }), envelope('agent.started')]);
    for (let minute = 0; minute < 12; minute += 1) {
      clock.advance(MIN);
      await observeAll([envelope('agent.thinking'), envelope('heartbeat')]);
      await guardian.sweep();
    }
    expect(sandbox.sent).toEqual([]);
    expect(recorder.records).toEqual([]);
  });

  it.each(['TASK_COMPLETED', 'TASK_STOPPED', 'TASK_QUARANTINED'])(
    'sends nothing to a sandbox after %s, and tracks neither it nor its task',
    async (ended) => {
      const { clock, guardian, sandbox, recorder, observeAll } = setup();
      await observeAll([envelope('agent.started'), envelope('agent.thinking')]);
      if (ended === 'TASK_COMPLETED') await observeAll([envelope('agent.completed')]);
      await observeAll(both(ended, { task_id: 'task-123', sandbox_id: 'sb-1' }));
      expect(guardian.trackedKeys).toBe(0);
      clock.advance(20 * MIN);
      await guardian.sweep();
      expect(sandbox.sent).toEqual([]);
      expect(recorder.records).toEqual([]);
    },
  );

  it("does not count the supervisor's warnings as progress of a hung agent", async () => {
    const { clock, guardian, sandbox, observeAll } = setup();
    await observeAll([envelope('agent.tool_use', { tool: 'bash', input: { command: 'sleep 1d' } })]);
    clock.advance(4 * MIN);
    await observeAll([
      ...both('SANDBOX_HEARTBEAT_MISSED', { missed: 1 }),
      ...both('SANDBOX_RECOVERED', { missed: 0 }),
      envelope('heartbeat'),
    ]);
    clock.advance(2 * MIN);
    await guardian.sweep();
    expect(sandbox.sent.map((message) => message.sandboxId)).toEqual(['sb-1']);
    expect(sandbox.sent[0]?.content).toContain('no progress for 6 minutes (last activity: `bash` (command: sleep 1d))');
  });
});

describe('Guardian: robustness', () => {
  it('logs a throwing task lookup, keeps handling events, and retries once it recovers', async () => {
    const { tasks, sandbox, lines, observeAll } = setup();
    tasks.failing = true;
    await observeAll([toolUse('npm test'), toolUse('npm test'), toolUse('npm test')]);
    expect(sandbox.sent).toEqual([]);
    expect(errorsLogged(lines)).toContain('task lookup failed; intervention postponed');
    tasks.failing = false;
    await observeAll([toolUse('npm test')]);
    expect(sandbox.sent).toHaveLength(1);
  });

  it('frees the window when delivery fails, so the next finding retries', async () => {
    const { sandbox, lines, observeAll } = setup();
    sandbox.failures = 1;
    await observeAll([toolUse('x'), toolUse('x'), toolUse('x')]);
    expect(errorsLogged(lines)).toContain('delivering the intervention failed');
    await observeAll([toolUse('x')]);
    expect(sandbox.sent).toHaveLength(1);
  });

  it('keeps a delivered intervention when recording it fails', async () => {
    const { sandbox, recorder, lines, observeAll } = setup();
    recorder.failing = true;
    await observeAll([toolUse('x'), toolUse('x'), toolUse('x')]);
    expect(sandbox.sent).toHaveLength(1);
    expect(errorsLogged(lines)).toContain('recording the intervention failed');
  });

  it('never rejects on odd events', async () => {
    const { guardian, lines } = setup();
    const odd = [
      { ...envelope('agent.tool_use'), payload: null },
      { ...envelope('agent.tool_completed'), payload: { exit_code: { nested: [1] }, error: 42 } },
      { ...envelope('agent.tool_use'), payload: { tool: { name: 'x' }, input: [undefined, 1n, { a: null }] } },
      envelope('agent.unknown_kind', { anything: true }),
      { ...envelope('agent.thinking'), entity_type: 'deployment' },
    ] as unknown as EventEnvelope[];
    for (const event of odd) await expect(guardian.observe(event)).resolves.toBeUndefined();
    expect(lines.some((line) => line.msg === 'could not analyse event; skipped')).toBe(true);
    await expect(guardian.observe(toolUse('ok'))).resolves.toBeUndefined();
  });

  it("serializes one sandbox's findings: two detectors firing at once yield one intervention", async () => {
    const alwaysOpen: CooldownGate = { tryAcquire: async () => true };
    const { guardian, sandbox } = setup({ gate: alwaysOpen, config: { loopingAt: 2, errorStormAt: 1 } });
    await guardian.observe(toolUse('x'));
    await Promise.all([guardian.observe(toolUse('x')), guardian.observe(toolFailed())]);
    await guardian.whenIdle();
    expect(sandbox.sent).toHaveLength(1);
  });

  it('drops a finding whose run ended while it waited', async () => {
    let open!: () => void;
    let acquisitions = 0;
    const slowFirst: CooldownGate = {
      tryAcquire: () =>
        acquisitions++ === 0 ? new Promise((resolve) => (open = () => resolve(true))) : Promise.resolve(true),
    };
    const { guardian, sandbox } = setup({ gate: slowFirst, config: { loopingAt: 2, errorStormAt: 1 } });
    sandbox.failures = 1; // the first delivery fails, so it holds no window for the key
    await guardian.observe(toolUse('x'));
    const first = guardian.observe(toolUse('x'));
    await new Promise((resolve) => setImmediate(resolve)); // the first is now at the gate
    const second = guardian.observe(toolFailed()); // queued behind the first
    void guardian.observe(envelope('agent.completed'));
    open();
    await Promise.all([first, second]);
    expect(acquisitions).toBe(1);
    expect(sandbox.sent).toEqual([]); // the agent completed: the queued error-storm finding is stale
  });
});

describe('Guardian: analyzer', () => {
  const loop = [toolUse('x'), toolUse('x'), toolUse('x')];

  it("sends the analyzer's rewrite", async () => {
    const { sandbox, recorder, observeAll } = setup({
      analyzer: { refine: async (finding) => `Refined: ${finding.detector}` },
    });
    await observeAll(loop);
    expect(sandbox.sent[0]?.content).toBe('Refined: looping');
    expect(recorder.records[0]?.message).toBe('Refined: looping');
  });

  it('sends and records nothing on a veto, and is not asked again within the window', async () => {
    let asked = 0;
    const { sandbox, recorder, observeAll } = setup({ analyzer: { refine: async () => (asked++, null) } });
    await observeAll([...loop, toolUse('x')]);
    expect(sandbox.sent).toEqual([]);
    expect(recorder.records).toEqual([]);
    expect(asked).toBe(1);
  });

  it('falls back to the rule text when the analyzer fails', async () => {
    const { sandbox, observeAll } = setup({ analyzer: { refine: () => Promise.reject(new Error('LLM timeout')) } });
    await observeAll(loop);
    expect(sandbox.sent[0]?.content).toContain('with the same arguments 3 times');
  });
});

describe('Guardian: tasks that have ended', () => {
  it.each(['completed', 'stopped', 'quarantined', 'failed'])(
    'does not steer a sandbox whose task is %s, even when the event saying so was missed',
    async (status) => {
      const { guardian, sandbox, recorder, observeAll } = setup({ tasks: [{ ...SANDBOX_TASK, status }] });
      await observeAll([toolUse('npm test'), toolUse('npm test'), toolUse('npm test')]);
      expect(sandbox.sent).toEqual([]);
      expect(recorder.records).toEqual([]);
      // It stopped watching the sandbox: no trajectory is left to be flagged stuck later.
      expect(guardian.trackedKeys).toBe(0);
    },
  );

  it('steers a task that runs (or restarts) as before', async () => {
    for (const status of ['running', 'restarting']) {
      const { sandbox, observeAll } = setup({ tasks: [{ ...SANDBOX_TASK, status }] });
      await observeAll([toolUse('npm test'), toolUse('npm test'), toolUse('npm test')]);
      expect([status, sandbox.sent.length]).toEqual([status, 1]);
    }
  });
});
