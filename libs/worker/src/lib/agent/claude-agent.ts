import { AGENT_EVENT_TYPES } from '@sandbox-relay/contracts';
import type { Options, Query, SDKMessage, SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import type { Agent, AgentEmit, SteeringNote, TurnContext, TurnInput, TurnResult } from './agent';
import { describeTextEdit, resolveInWorkspace } from './file-edit';
import { AsyncInputQueue } from '../util/async-input-queue';
import { errorMessage, storableText, tailText } from '../util/text';

/** The pinned SDK version the worker is built and tested against (root package.json). */
export const CLAUDE_AGENT_SDK_VERSION = '0.3.331';

/** The part of `@anthropic-ai/claude-agent-sdk` the adapter uses. */
export interface ClaudeSdk {
  query(params: { prompt: string | AsyncIterable<SDKUserMessage>; options?: Options }): Query;
}

/**
 * Loads the SDK only when a Claude turn starts: the single-file worker bundle keeps it external
 * (tools/build-worker.mjs), so a sandbox running the shell agent needs none of it installed.
 */
export async function loadClaudeSdk(): Promise<ClaudeSdk> {
  try {
    return await import('@anthropic-ai/claude-agent-sdk');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        `AGENT=claude needs @anthropic-ai/claude-agent-sdk@${CLAUDE_AGENT_SDK_VERSION} (and its native package for this platform) installed where the worker can resolve it: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    throw error;
  }
}

export interface ClaudeAgentOptions {
  workspaceDir: string;
  apiKey: string;
  /** The Messages API origin; default Anthropic's. Tests point it at a local fake. */
  baseUrl?: string;
  /** Default: Claude Code's own default model. */
  model?: string;
  /** Env of the Claude Code process and so of the commands its tools run, the worker's secrets removed. */
  env: Record<string, string | undefined>;
  /** How long an interrupted turn may take to end before the Claude Code process is closed (default 2 s). */
  interruptGraceMs?: number;
  /** Bytes of the end of a tool's output reported in `agent.tool_completed` (default 4 KiB). */
  tailBytes?: number;
  /** Default: `loadClaudeSdk` (a dynamic import). */
  loadSdk?: () => Promise<ClaudeSdk>;
  /** Passed to the SDK; default: the binary of the platform package next to the SDK. */
  pathToClaudeCodeExecutable?: string;
  /** Claude Code's stderr lines (debugging a sandbox); default: dropped. */
  onStderr?: (line: string) => void;
}

/**
 * Claude Code is a long-running product with telemetry, update checks and bug reporting; in a sandbox
 * it should talk to the Messages API and nothing else. The worker runs inside a sandbox by definition
 * (IS_SANDBOX lets it skip permission prompts even as root, which sandbox images often are).
 */
const QUIET_CLAUDE_CODE_ENV = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DISABLE_AUTOUPDATER: '1',
  DISABLE_UPDATES: '1',
  IS_SANDBOX: '1',
};

/** Claude Code's file tools whose structured result carries the file before and after. */
const FILE_TOOLS = new Set(['Edit', 'Write', 'MultiEdit']);

interface ActiveTurn {
  emit: AgentEmit;
  resolve: () => void;
  reject: (error: Error) => void;
  interrupted: boolean;
  step: number;
  /** call_id → what the tool_result needs to describe the call. */
  calls: Map<string, { tool: string; step: number; startedAt: number }>;
}

interface Session {
  query: Query;
  input: AsyncInputQueue<SDKUserMessage>;
  /** Settles when the SDK's message stream ends (the Claude Code process exited or was closed). */
  done: Promise<void>;
}

/**
 * The Claude Agent SDK behind the worker's `Agent` interface. One Claude Code session (streaming input
 * mode) lives across turns: each turn writes one user message and waits for that turn's `result`;
 * an abort becomes the SDK's `interrupt()`, and the session lives on. Assistant text, thinking, tool
 * calls, tool results and file edits are reported as catalogue events as they stream.
 */
export class ClaudeAgent implements Agent {
  readonly kind = 'claude';
  private readonly notes: SteeringNote[] = [];
  private session: Session | null = null;
  private sessionId: string | undefined;
  private active: ActiveTurn | null = null;
  /** The previous turn's end, so that a turn abandoned by the loop cannot overlap the next one. */
  private previous: Promise<void> = Promise.resolve();
  private readonly interruptGraceMs: number;
  private readonly tailBytes: number;

  constructor(private readonly options: ClaudeAgentOptions) {
    this.interruptGraceMs = options.interruptGraceMs ?? 2_000;
    this.tailBytes = options.tailBytes ?? 4_096;
  }

  /** Held until the next turn, where it is put ahead of that turn's input. */
  steer(note: SteeringNote): void {
    this.notes.push(note);
  }

  async runTurn(input: TurnInput, context: TurnContext): Promise<TurnResult> {
    await this.previous;
    if (context.signal.aborted) return {};
    const session = await this.ensureSession();
    const ended = new Promise<void>((resolve, reject) => {
      this.active = { emit: context.emit, resolve, reject, interrupted: false, step: 0, calls: new Map() };
    });
    const turn = this.active as ActiveTurn | null;
    if (!turn) throw new Error('unreachable: no active turn');
    let graceTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      turn.interrupted = true;
      session.query.interrupt().catch(() => this.closeSession(session));
      // A Claude Code that does not confirm the interrupt in time is closed; the next turn resumes the session.
      graceTimer = setTimeout(() => {
        this.closeSession(session);
        turn.resolve();
      }, this.interruptGraceMs);
    };
    context.signal.addEventListener('abort', onAbort, { once: true });
    const finished = ended.finally(() => {
      clearTimeout(graceTimer);
      context.signal.removeEventListener('abort', onAbort);
      if (this.active === turn) this.active = null;
    });
    this.previous = finished.catch(() => undefined);
    session.input.push(this.userMessage(input));
    await finished;
    return {};
  }

  /** Ends the Claude Code process (worker shutdown); resolves when its message stream has ended. */
  async close(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.closeSession(session);
    await session.done;
  }

  private userMessage(input: TurnInput): SDKUserMessage {
    const notes = this.notes.splice(0);
    const steering = notes
      .map(
        (note) =>
          `[Steering from the guardian, ${note.receivedAt}; it takes priority over the request below]\n${note.content}\n\n`,
      )
      .join('');
    const resume = input.context ? `[Context from the previous run of this task]\n${input.context}\n\n[Request]\n` : '';
    return {
      type: 'user',
      message: { role: 'user', content: `${steering}${resume}${input.content}` },
      parent_tool_use_id: null,
    };
  }

  private async ensureSession(): Promise<Session> {
    if (this.session) return this.session;
    const sdk = await (this.options.loadSdk ?? loadClaudeSdk)();
    const input = new AsyncInputQueue<SDKUserMessage>();
    const { apiKey, baseUrl, model, env, workspaceDir, pathToClaudeCodeExecutable, onStderr } = this.options;
    const query = sdk.query({
      prompt: input,
      options: {
        cwd: workspaceDir,
        ...(model ? { model } : {}),
        ...(this.sessionId ? { resume: this.sessionId } : {}),
        ...(pathToClaudeCodeExecutable ? { pathToClaudeCodeExecutable } : {}),
        systemPrompt: { type: 'preset', preset: 'claude_code' },
        // The repository's own CLAUDE.md and .claude/settings.json; nothing from the sandbox user's home.
        settingSources: ['project'],
        permissionMode: 'bypassPermissions',
        allowDangerouslySkipPermissions: true,
        env: {
          ...env,
          ...QUIET_CLAUDE_CODE_ENV,
          ANTHROPIC_API_KEY: apiKey,
          ...(baseUrl ? { ANTHROPIC_BASE_URL: baseUrl } : {}),
        },
        stderr: (data: string) => onStderr?.(data),
      },
    });
    const done = this.pump(query);
    const session: Session = { query, input, done };
    this.session = session;
    void done.finally(() => {
      if (this.session === session) this.session = null;
    });
    return session;
  }

  /** Reads the SDK's messages for the whole session and hands them to the turn running now. */
  private async pump(query: Query): Promise<void> {
    let failure: Error | undefined;
    try {
      for await (const message of query) this.dispatch(message);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    const turn = this.active;
    if (!turn) return;
    if (turn.interrupted) turn.resolve();
    else
      turn.reject(
        new Error(`Claude Code ended the session mid-turn: ${failure ? failure.message : 'its message stream closed'}`),
      );
  }

  private closeSession(session: Session): void {
    if (this.session === session) this.session = null;
    session.input.end();
    session.query.close();
  }

  private dispatch(message: SDKMessage): void {
    if ('session_id' in message && typeof message.session_id === 'string' && message.session_id)
      this.sessionId = message.session_id;
    const turn = this.active;
    if (!turn) return;
    // An API failure comes as a synthetic assistant message with `error` set, then an error result: it is
    // reported once, as the turn's thrown error, not also as something the model said.
    if (message.type === 'assistant') {
      if (message.error === undefined)
        this.onAssistant(turn, message.message.content as unknown as ContentBlock[], message.parent_tool_use_id);
    } else if (message.type === 'user')
      this.onUser(turn, message.message.content as unknown as string | ContentBlock[], message.tool_use_result);
    else if (message.type === 'result') {
      if (turn.interrupted || (message.subtype === 'success' && !message.is_error)) return turn.resolve();
      const detail =
        message.subtype === 'success'
          ? message.result
          : `${message.subtype}${message.errors.length > 0 ? `: ${message.errors.join('; ')}` : ''}`;
      turn.reject(new Error(`Claude turn failed: ${detail}`));
    }
  }

  private onAssistant(turn: ActiveTurn, blocks: ContentBlock[], parentToolUseId: string | null): void {
    const parent = parentToolUseId ? { parent_tool_use_id: parentToolUseId } : {};
    for (const block of blocks) {
      const step = turn.step++;
      if (block.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') {
        turn.emit(AGENT_EVENT_TYPES.MESSAGE, { role: 'assistant', content: storableText(block.text), step, ...parent });
      } else if (block.type === 'thinking' && typeof block.thinking === 'string' && block.thinking !== '') {
        turn.emit(AGENT_EVENT_TYPES.THINKING, { content: storableText(block.thinking), step, ...parent });
      } else if (block.type === 'tool_use' && typeof block.id === 'string') {
        const tool = String(block.name);
        turn.calls.set(block.id, { tool, step, startedAt: Date.now() });
        turn.emit(AGENT_EVENT_TYPES.TOOL_USE, { tool, input: block.input ?? {}, call_id: block.id, step, ...parent });
      }
    }
  }

  private onUser(turn: ActiveTurn, content: string | ContentBlock[], structured: unknown): void {
    if (typeof content === 'string') return;
    const results = content.filter((block) => block.type === 'tool_result' && typeof block.tool_use_id === 'string');
    for (const block of results) {
      const callId = block.tool_use_id as string;
      const call = turn.calls.get(callId);
      const tool = call?.tool ?? 'unknown';
      // The structured result belongs to the message's only tool_result; with several it is ambiguous.
      const output = results.length === 1 && isRecord(structured) ? structured : undefined;
      const success = block.is_error !== true;
      const stdout = typeof output?.['stdout'] === 'string' ? output['stdout'] : resultText(block.content);
      const stderr = typeof output?.['stderr'] === 'string' ? output['stderr'] : '';
      turn.emit(AGENT_EVENT_TYPES.TOOL_COMPLETED, {
        tool,
        call_id: callId,
        step: call?.step ?? null,
        success,
        exit_code: null,
        signal: null,
        duration_ms: call ? Date.now() - call.startedAt : null,
        stdout: storableText(tailText(stdout, this.tailBytes)),
        stderr: storableText(tailText(stderr, this.tailBytes)),
        stdout_truncated: stdout.length > this.tailBytes,
        stderr_truncated: stderr.length > this.tailBytes,
        ...(output?.['interrupted'] === true ? { interrupted: true } : {}),
        ...(success ? {} : { error: storableText(tailText(resultText(block.content), this.tailBytes)) }),
      });
      if (success && FILE_TOOLS.has(tool) && output) this.reportFileEdit(turn, output, call?.step ?? null);
    }
  }

  /** `agent.file_edited` from an Edit/Write result that carries the file before and after; else nothing. */
  private reportFileEdit(turn: ActiveTurn, output: Record<string, unknown>, step: number | null): void {
    const filePath = output['filePath'];
    if (typeof filePath !== 'string' || output['staged'] === true) return;
    const before = typeof output['originalFile'] === 'string' ? output['originalFile'] : null;
    let after: string | undefined;
    if (typeof output['content'] === 'string') after = output['content'];
    else if (before !== null && typeof output['oldString'] === 'string' && typeof output['newString'] === 'string') {
      after =
        output['replaceAll'] === true
          ? before.split(output['oldString']).join(output['newString'])
          : before.replace(output['oldString'], () => output['newString'] as string);
    }
    // An update whose previous content Claude Code did not keep (too large) has no honest diff.
    if (after === undefined || (before === null && output['type'] !== 'create')) return;
    let relative: string;
    try {
      relative = resolveInWorkspace(this.options.workspaceDir, filePath).relative;
    } catch {
      relative = filePath;
    }
    turn.emit(AGENT_EVENT_TYPES.FILE_EDITED, { ...describeTextEdit(relative, before, after), step });
  }
}

/** A content block of a Messages API message, read loosely (the SDK's unions are large and growing). */
interface ContentBlock {
  type: string;
  [key: string]: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A tool_result's content as text (a string, or text blocks). */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(
      (block): block is { type: 'text'; text: string } =>
        isRecord(block) && block['type'] === 'text' && typeof block['text'] === 'string',
    )
    .map((block) => block.text)
    .join('\n');
}
