import { EventBody } from '@sandbox-relay/contracts';
import { testLogger, waitFor } from '@sandbox-relay/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Agent, SteeringNote, TurnContext, TurnInput, TurnResult } from '../agent/agent';
import { ShellAgent } from '../agent/shell-agent';
import { runWorker, type AgentFactory } from '../run-worker';
import { MemoryRelay } from '../spec-support/memory-relay';
import { parseWorkerEnv, type WorkerConfig } from '../worker-env';

/** Wraps the real shell agent and records the order in which the loop handed it things. */
class RecordingAgent implements Agent {
  readonly kind = 'shell';
  readonly calls: string[] = [];
  constructor(private readonly inner: ShellAgent) {}
  runTurn(input: TurnInput, context: TurnContext): Promise<TurnResult> {
    this.calls.push(`turn:${input.source}:${input.messageId ?? '-'}`);
    return this.inner.runTurn(input, context);
  }
  steer(note: SteeringNote): void {
    this.calls.push(`steer:${note.messageId}`);
    this.inner.steer(note);
  }
}

describe('the worker loop', () => {
  let workspace: string;
  let relay: MemoryRelay;
  let stop: AbortController;
  let agent: RecordingAgent | undefined;

  beforeEach(() => {
    workspace = mkdtempSync(path.join(tmpdir(), 'worker-loop-'));
    relay = new MemoryRelay();
    stop = new AbortController();
    agent = undefined;
  });

  afterEach(() => {
    stop.abort();
    rmSync(workspace, { recursive: true, force: true });
  });

  const config = (env: Record<string, string> = {}): WorkerConfig =>
    parseWorkerEnv({
      RELAY_URL: 'http://127.0.0.1:1',
      SANDBOX_ID: 'sbx-loop',
      TASK_ID: 'task-loop',
      WORKSPACE_DIR: workspace,
      POLL_INTERVAL_MS: '10',
      HEARTBEAT_INTERVAL_MS: '20',
      KILL_GRACE_MS: '300',
      ...env,
    });
  const recordingFactory: AgentFactory = (cfg, deps) => {
    agent = new RecordingAgent(
      new ShellAgent({ workspaceDir: cfg.WORKSPACE_DIR, env: deps.commandEnv, killGraceMs: cfg.KILL_GRACE_MS }),
    );
    return agent;
  };
  const start = (
    env: Record<string, string> = {},
    factory: AgentFactory = recordingFactory,
    turnAbortSlackMs?: number,
  ) =>
    runWorker(config(env), {
      logger: testLogger(),
      relay,
      agentFactory: factory,
      commandEnv: { PATH: process.env.PATH },
      stopSignal: stop.signal,
      turnAbortSlackMs,
    });
  const plan = (steps: unknown) => JSON.stringify(steps);
  const waitForStory = (predicate: (story: string[]) => boolean, what: string) =>
    waitFor(() => predicate(relay.story()), what);
  const count = (type: string) => relay.ofType(type).length;

  it('keeps previews storable when an emoji straddles the cut (heartbeat current_action, interrupt reason)', async () => {
    // "bash: " + command is cut at 200 chars, an interrupt's content at 500: put a surrogate pair across each cut.
    const command = `sleep 30 # ${'x'.repeat(199 - 'bash: sleep 30 # '.length - 1)}🎉 done`;
    const reason = `${'y'.repeat(498)}🎉 enough`;
    const running = start({ TASK_PLAN: JSON.stringify([{ run: command }]) });
    await waitFor(
      () =>
        relay.events.some(
          (event) =>
            event.event_type === 'heartbeat' && String(event.event_data['current_action']).startsWith('bash: sleep'),
        ),
      'a heartbeat during the command',
    );
    relay.queue('interrupt', reason);
    await waitFor(
      () => relay.events.some((event) => event.event_type === 'agent.interrupted'),
      'the interrupt to be obeyed',
    );
    stop.abort();
    await running;
    const refused = relay.events
      .filter((event) => !EventBody.safeParse(event).success)
      .map((event) => event.event_type);
    expect(refused).toEqual([]);
  });

  it('reports agent.started, runs the task plan, then waits idle until stopped', async () => {
    const running = start({ TASK_PLAN: plan([{ run: 'echo hi' }]) });
    await waitForStory((story) => story.includes('agent.waiting'), 'the plan to finish');
    expect(relay.story()).toEqual(['agent.started', 'agent.tool_use', 'agent.tool_completed', 'agent.waiting']);
    expect(relay.ofType('agent.started')[0]).toMatchObject({
      source: 'worker',
      event_data: { task_id: 'task-loop', agent: 'shell', has_plan: true },
    });
    expect(relay.ofType('agent.tool_completed')[0]).toMatchObject({
      source: 'agent',
      event_data: { stdout: 'hi\n', exit_code: 0 },
    });
    expect(relay.ofType('agent.waiting')[0]?.event_data).toEqual({
      reason: 'turn_finished',
      turn: 1,
      pending_messages: 0,
    });
    const polls = relay.polls;
    await waitFor(() => relay.polls > polls + 2, 'idle polling');
    stop.abort();
    await expect(running).resolves.toEqual({ reason: 'stopped', flushed: true });
    expect(relay.closed).toBe(true);
    expect(relay.events.at(-1)).toMatchObject({ event_type: 'heartbeat', event_data: { status: 'stopping' } });
  });

  it("hands a replacement worker's TASK_CONTEXT to its first turn only, and says so in agent.started", async () => {
    const inputs: TurnInput[] = [];
    const capturing: AgentFactory = (cfg, deps) => {
      const inner = new ShellAgent({
        workspaceDir: cfg.WORKSPACE_DIR,
        env: deps.commandEnv,
        killGraceMs: cfg.KILL_GRACE_MS,
      });
      return {
        kind: 'shell',
        runTurn: (input, context) => (inputs.push(input), inner.runTurn(input, context)),
        steer: (note) => inner.steer(note),
      };
    };
    const context = 'You are resuming task task-loop.\n- ran `npm test` → exit 1';
    const running = start({ TASK_PLAN: plan([{ run: 'echo again' }]), TASK_CONTEXT: context }, capturing);
    await waitForStory((story) => story.includes('agent.waiting'), 'the first turn');
    relay.queue('user_message', plan([{ run: 'echo second' }]));
    await waitFor(() => inputs.length === 2 && count('agent.waiting') >= 2, 'the second turn');
    expect(inputs[0]).toMatchObject({ source: 'task', content: plan([{ run: 'echo again' }]), context });
    expect(inputs[1]).toMatchObject({ source: 'user_message' });
    expect(inputs[1]!.context).toBeUndefined();
    expect(relay.ofType('agent.started')[0]?.event_data).toMatchObject({
      resumed: true,
      context_bytes: Buffer.byteLength(context),
    });
    stop.abort();
    await running;
  });

  it('reports agent.completed and returns when a plan that completes the task is done', async () => {
    const outcome = await start({ TASK_PLAN: plan({ steps: [{ say: 'done' }], complete_when_done: true }) });
    expect(outcome).toEqual({ reason: 'completed', flushed: true });
    expect(relay.story()).toEqual(['agent.started', 'agent.message', 'agent.completed']);
    expect(relay.ofType('agent.completed')[0]?.event_data).toEqual({ task_id: 'task-loop', turns: 1 });
  });

  it('interrupt stops a long command promptly, reports agent.interrupted then agent.waiting, and the session goes on', async () => {
    const running = start({ TASK_PLAN: plan([{ run: 'sleep 30' }, { say: 'never' }]) });
    await waitForStory((story) => story.includes('agent.tool_use'), 'the command to start');
    const interruptedAt = Date.now();
    const interrupt = relay.queue('interrupt', 'stop that');
    await waitForStory((story) => story.includes('agent.waiting'), 'the interrupt to be obeyed');
    expect(Date.now() - interruptedAt).toBeLessThan(1_000);
    expect(relay.story()).toEqual([
      'agent.started',
      'agent.tool_use',
      'agent.tool_completed',
      'agent.interrupted',
      'agent.waiting',
    ]);
    expect(relay.ofType('agent.tool_completed')[0]?.event_data).toMatchObject({ interrupted: true, success: false });
    expect(relay.ofType('agent.interrupted')[0]?.event_data).toEqual({
      turn: 1,
      during: 'turn',
      message_id: interrupt.message_id,
      reason: 'stop that',
    });
    expect(relay.ofType('agent.waiting')[0]?.event_data).toMatchObject({ reason: 'interrupted' });

    relay.queue('user_message', plan([{ say: 'still here' }]));
    await waitFor(
      () => relay.ofType('agent.message').some((event) => event.event_data.content === 'still here'),
      'the next turn',
    );
    stop.abort();
    await running;
  });

  it('runs a user_message plan as a new turn and acknowledges plain text', async () => {
    const running = start();
    await waitForStory((story) => story.includes('agent.waiting'), 'the idle start');
    expect(relay.ofType('agent.waiting')[0]?.event_data).toMatchObject({ reason: 'no_task_input', turn: 0 });
    const message = relay.queue(
      'user_message',
      plan([{ write: { path: 'a.txt', content: 'x\n' } }, { run: 'cat a.txt' }]),
    );
    relay.queue('user_message', 'thanks!');
    await waitFor(() => count('agent.waiting') === 2, 'both turns');
    expect(agent?.calls).toEqual([
      `turn:user_message:${message.message_id}`,
      `turn:user_message:${Number(message.message_id) + 1}`,
    ]);
    expect(relay.ofType('agent.file_edited')[0]?.event_data).toMatchObject({ path: 'a.txt', created: true });
    expect(relay.ofType('agent.tool_completed')[0]?.event_data).toMatchObject({ stdout: 'x\n' });
    expect(relay.ofType('agent.message')[0]?.event_data).toMatchObject({ role: 'assistant', received: 'thanks!' });
    // Queued behind the first turn, the second ran without a waiting in between.
    expect(relay.ofType('agent.waiting')[1]?.event_data).toEqual({
      reason: 'turn_finished',
      turn: 2,
      pending_messages: 0,
    });
    stop.abort();
    await running;
  });

  it('hands guardian steering to the agent before user messages of the same poll, and reports it', async () => {
    const running = start();
    await waitForStory((story) => story.includes('agent.waiting'), 'the idle start');
    const user = relay.queue('user_message', plan([{ say: 'user turn' }]));
    const guardian = relay.queue('guardian_intervention', 'You ran the same command 3 times; try something else.');
    const system = relay.queue('system', 'sandbox will stop in 10 minutes');
    await waitFor(
      () => relay.ofType('agent.message').some((event) => event.event_data.content === 'user turn'),
      'the user turn',
    );
    expect(agent?.calls).toEqual([`steer:${guardian.message_id}`, `turn:user_message:${user.message_id}`]);
    const messages = relay.ofType('agent.message').map((event) => event.event_data);
    expect(messages).toEqual([
      {
        role: 'system',
        kind: 'steering',
        from: 'guardian',
        content: guardian.content,
        message_id: guardian.message_id,
      },
      { role: 'system', content: system.content, message_id: system.message_id },
      { role: 'assistant', content: 'user turn', step: 0 },
    ]);
    expect(relay.ofType('agent.message')[0]?.source).toBe('worker');
    stop.abort();
    await running;
  });

  it("treats the original system's guardian_nudge as guardian steering: before pending user messages", async () => {
    const running = start();
    await waitForStory((story) => story.includes('agent.waiting'), 'the idle start');
    const user = relay.queue('user_message', plan([{ say: 'user turn' }]));
    const nudge = relay.queue('guardian_nudge', '[GUARDIAN INTERVENTION - guidance] Run the failing test alone first.');
    await waitFor(
      () => relay.ofType('agent.message').some((event) => event.event_data.content === 'user turn'),
      'the user turn',
    );
    expect(agent?.calls).toEqual([`steer:${nudge.message_id}`, `turn:user_message:${user.message_id}`]);
    expect(relay.ofType('agent.message')[0]?.event_data).toEqual({
      role: 'system',
      kind: 'steering',
      from: 'guardian',
      content: nudge.content,
      message_id: nudge.message_id,
    });
    stop.abort();
    await running;
  });

  it('answers an interrupt while idle, and survives a turn that throws', async () => {
    const failing: AgentFactory = () => ({
      kind: 'shell',
      steer: () => undefined,
      runTurn: async () => {
        throw new Error('adapter exploded');
      },
    });
    const running = start({ TASK_PROMPT: 'go' }, failing);
    await waitForStory((story) => story.includes('agent.waiting'), 'the failed turn');
    expect(relay.story()).toEqual(['agent.started', 'agent.error', 'agent.waiting']);
    expect(relay.ofType('agent.error')[0]?.event_data).toEqual({ message: 'adapter exploded', fatal: false, turn: 1 });
    expect(relay.ofType('agent.waiting')[0]?.event_data).toMatchObject({ reason: 'turn_failed' });
    relay.queue('interrupt', 'halt');
    await waitFor(() => count('agent.waiting') === 2, 'the idle interrupt answer');
    expect(relay.ofType('agent.interrupted')[0]?.event_data).toMatchObject({
      turn: null,
      during: 'idle',
      reason: 'halt',
    });
    stop.abort();
    await expect(running).resolves.toMatchObject({ reason: 'stopped' });
  });

  it('moves on when an agent ignores the interrupt', async () => {
    const stubborn: AgentFactory = () => ({
      kind: 'stub',
      steer: () => undefined,
      runTurn: () => new Promise(() => undefined),
    });
    const running = start({ TASK_PROMPT: 'go', KILL_GRACE_MS: '0' }, stubborn, 50);
    await waitFor(() => relay.polls > 1, 'the turn to be under way');
    relay.queue('interrupt', 'stop');
    await waitForStory((story) => story.includes('agent.waiting'), 'the loop to give up on the turn');
    expect(relay.story()).toEqual(['agent.started', 'agent.interrupted', 'agent.waiting']);
    stop.abort();
    await running;
  });

  it('keeps beating during a long turn and stops it promptly on the stop signal', async () => {
    const running = start({ TASK_PLAN: plan([{ run: 'sleep 30' }]) });
    await waitFor(
      () =>
        relay.ofType('heartbeat').filter((event) => event.event_data.current_action === 'bash: sleep 30').length >= 2,
      'heartbeats during the command',
    );
    expect(relay.ofType('heartbeat').at(-1)?.event_data).toMatchObject({
      status: 'running',
      task_id: 'task-loop',
      turn: 1,
    });
    const stoppedAt = Date.now();
    stop.abort();
    await expect(running).resolves.toEqual({ reason: 'stopped', flushed: true });
    expect(Date.now() - stoppedAt).toBeLessThan(1_000);
    expect(relay.story()).not.toContain('agent.interrupted');
  });
});
