import { FakeAnthropicServer, lastToolResults, lastUserText } from '@sandbox-relay/testing';
import { applyPatch } from 'diff';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentEmittedType, TurnContext } from './agent';
import { ClaudeAgent } from './claude-agent';

interface Emitted {
  type: AgentEmittedType;
  data: Record<string, unknown>;
}

/**
 * The real Claude Agent SDK and the real Claude Code binary it drives, against a local HTTP server
 * speaking the Messages API (SSE streaming). Nothing is mocked: each test is one or more real turns.
 */
describe('ClaudeAgent (real SDK against a fake Messages API)', () => {
  const fake = new FakeAnthropicServer();
  let workspace: string;
  let home: string;
  let agent: ClaudeAgent;
  let emitted: Emitted[];
  let stderr: string[];

  beforeAll(() => fake.start());
  afterAll(() => fake.close());

  beforeEach(() => {
    fake.reset();
    workspace = mkdtempSync(path.join(tmpdir(), 'worker-claude-ws-'));
    // Claude Code keeps its state (~/.claude.json, session transcripts) in HOME: one per test.
    home = mkdtempSync(path.join(tmpdir(), 'worker-claude-home-'));
    emitted = [];
    stderr = [];
    agent = new ClaudeAgent({
      workspaceDir: workspace,
      apiKey: 'sk-ant-test-key',
      baseUrl: fake.url,
      model: 'claude-sonnet-4-5',
      env: { PATH: process.env.PATH, HOME: home },
      interruptGraceMs: 2_000,
      onStderr: (line) => stderr.push(line),
    });
  });

  afterEach(async () => {
    await agent.close();
    rmSync(workspace, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  const contextFor = (signal = new AbortController().signal, turn = 1): TurnContext => ({
    signal,
    turn,
    emit: (type, data) => emitted.push({ type, data }),
  });
  const ofType = (type: AgentEmittedType) => emitted.filter((event) => event.type === type).map((event) => event.data);

  it('runs a text turn: the user input goes to the Messages API, the answer comes back as agent.message', async () => {
    fake.respond = () => ({ text: 'Hello from the fake model.' });

    await agent.runTurn({ source: 'task', content: 'Say hello.' }, contextFor());

    expect(ofType('agent.message')).toEqual([{ role: 'assistant', content: 'Hello from the fake model.', step: 0 }]);
    const [request] = fake.messageRequests;
    expect(request?.model).toBe('claude-sonnet-4-5');
    expect(request?.stream).toBe(true);
    expect(lastUserText(request ?? {})).toContain('Say hello.');
    // Only the Messages API was called: no telemetry, update check or other traffic reached the fake.
    expect(new Set(fake.requests.map((r) => `${r.method} ${r.path}`))).toEqual(new Set(['POST /v1/messages']));
  });

  it('runs a tool_use turn: Bash runs for real and is reported as agent.tool_use / agent.tool_completed', async () => {
    fake.respond = (request, index) =>
      index === 0
        ? { toolUse: { id: 'toolu_echo', name: 'Bash', input: { command: 'echo hi', description: 'Print hi' } } }
        : { text: 'The command printed hi.' };

    await agent.runTurn({ source: 'user_message', content: 'Run echo hi.', messageId: '7' }, contextFor());

    expect(ofType('agent.tool_use')).toEqual([
      { tool: 'Bash', input: { command: 'echo hi', description: 'Print hi' }, call_id: 'toolu_echo', step: 0 },
    ]);
    expect(ofType('agent.tool_completed')).toEqual([
      expect.objectContaining({
        tool: 'Bash',
        call_id: 'toolu_echo',
        step: 0,
        success: true,
        stdout: 'hi',
        stderr: '',
        duration_ms: expect.any(Number),
      }),
    ]);
    expect(ofType('agent.message')).toEqual([{ role: 'assistant', content: 'The command printed hi.', step: 1 }]);
    expect(emitted.map((event) => event.type)).toEqual(['agent.tool_use', 'agent.tool_completed', 'agent.message']);
    // The second call carried the real command output back to the model.
    const results = lastToolResults(fake.messageRequests[1] ?? {});
    expect(results).toEqual([expect.objectContaining({ tool_use_id: 'toolu_echo' })]);
    expect(JSON.stringify(results[0]?.content)).toContain('hi');
  });

  it('reports a Write as agent.file_edited with a unified diff', async () => {
    const target = path.join(workspace, 'notes', 'hello.txt');
    fake.respond = (request, index) =>
      index === 0
        ? { toolUse: { name: 'Write', input: { file_path: target, content: 'hello\nworld\n' } } }
        : { text: 'Written.' };

    await agent.runTurn({ source: 'task', content: 'Write the file.' }, contextFor());

    expect(readFileSync(target, 'utf8')).toBe('hello\nworld\n');
    const [edit] = ofType('agent.file_edited');
    expect(edit).toEqual(
      expect.objectContaining({ path: 'notes/hello.txt', created: true, additions: 2, deletions: 0, bytes: 12 }),
    );
    expect(applyPatch('', String(edit?.['diff']))).toBe('hello\nworld\n');
    expect(ofType('agent.tool_completed')).toEqual([expect.objectContaining({ tool: 'Write', success: true })]);
  });

  it('interrupts mid-stream through the SDK, and the session answers the next turn', async () => {
    fake.respond = () => ({ hang: 'Let me think about this for a very long' });
    const controller = new AbortController();
    const turn = agent.runTurn({ source: 'task', content: 'Think forever.' }, contextFor(controller.signal));
    await fake.waitForHang();

    const abortedAt = Date.now();
    controller.abort();
    await expect(turn).resolves.toEqual({});
    // Well inside interruptGraceMs (2 s): Claude Code confirmed the interrupt, it was not closed.
    expect(Date.now() - abortedAt).toBeLessThan(1_500);
    expect(ofType('agent.error')).toEqual([]);
    // Text Claude Code had already received may be reported as a partial assistant message; nothing else.
    expect(ofType('agent.message').every((data) => data['content'] === 'Let me think about this for a very long')).toBe(
      true,
    );

    fake.respond = () => ({ text: 'Back again.' });
    emitted = [];
    await agent.runTurn(
      { source: 'user_message', content: 'Are you there?', messageId: '9' },
      contextFor(undefined, 2),
    );
    expect(ofType('agent.message')).toEqual([{ role: 'assistant', content: 'Back again.', step: 0 }]);
    // Same conversation: the interrupted exchange is in the history the model receives.
    const last = fake.messageRequests.at(-1);
    expect(JSON.stringify(last?.messages)).toContain('Think forever.');
    expect(lastUserText(last ?? {})).toContain('Are you there?');
  });

  it('puts guardian steering ahead of the next input', async () => {
    fake.respond = () => ({ text: 'Understood.' });
    agent.steer({ content: 'Do not touch the migrations.', messageId: '3', receivedAt: '2026-01-01T00:00:00.000Z' });

    await agent.runTurn({ source: 'user_message', content: 'Clean up the repo.', messageId: '4' }, contextFor());

    const text = lastUserText(fake.messageRequests[0] ?? {});
    expect(text.indexOf('Do not touch the migrations.')).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('Do not touch the migrations.')).toBeLessThan(text.indexOf('Clean up the repo.'));
  });

  it('throws when the API refuses the request', async () => {
    fake.respond = () => ({ error: { status: 400, type: 'invalid_request_error', message: 'prompt is too long' } });

    await expect(agent.runTurn({ source: 'task', content: 'Anything.' }, contextFor())).rejects.toThrow(
      /^Claude turn failed: Prompt is too long/,
    );
    // Claude Code's synthetic "assistant" text for the failure is not reported as something the model said.
    expect(ofType('agent.message')).toEqual([]);
  });
});
