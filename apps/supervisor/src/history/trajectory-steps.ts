import {
  AGENT_EVENT_TYPES,
  SYSTEM_EVENT_TYPES,
  isSteeringMessage,
  messageText,
  toolCallOutcome,
  toolExitCode,
  type EventEnvelope,
  type ToolCallOutcome,
} from '@sandbox-relay/contracts';
import { oneLine, tail } from './text-bounds';

/** Bounds on single items, so one huge message or command cannot take the whole context. */
export interface StepLimits {
  /** Characters of one rendered step line. */
  maxStepChars: number;
  /** Characters of a failed command's error or stderr tail quoted in its step. */
  maxErrorChars: number;
}

/** A file the old sandbox(es) edited, with its changes summed over every edit. */
export interface EditedFile {
  path: string;
  created: boolean;
  edits: number;
  additions: number;
  deletions: number;
}

/** What the stored events of a task's old sandbox(es) say happened, oldest first. */
export interface TrajectoryDigest {
  /** The prompt the first worker reported in `agent.started` (a preview), if any. */
  reportedPrompt: string | null;
  /** One line per step (message, command with outcome, edit, error), oldest first. */
  steps: string[];
  /** Edited files in order of their latest edit, oldest first. */
  files: EditedFile[];
  /** One line per guardian intervention, oldest first. */
  interventions: string[];
}

interface ToolStep {
  use: Record<string, unknown> | null;
  done: Record<string, unknown> | null;
}

type Step = { line: string } | { tool: ToolStep };

/**
 * Reads envelopes (ascending ids, any number of sandboxes) into a digest. A `tool_use` is paired with
 * its `tool_completed` by `call_id`, or else with the next completion in the same sandbox; a use that
 * never completed is kept as such (it is often what the sandbox hung on).
 */
export function digestTrajectory(events: readonly EventEnvelope[], limits: StepLimits): TrajectoryDigest {
  const reader = new DigestReader(limits);
  for (const event of events) reader.add(event);
  return reader.finish();
}

class DigestReader {
  private readonly steps: Step[] = [];
  private readonly byCallId = new Map<string, ToolStep>();
  private readonly unnamed = new Map<string, ToolStep[]>();
  private readonly files = new Map<string, EditedFile>();
  private readonly interventions: string[] = [];
  private reportedPrompt: string | null = null;

  constructor(private readonly limits: StepLimits) {}

  add(event: EventEnvelope): void {
    const data = event.payload;
    switch (event.event_type) {
      case AGENT_EVENT_TYPES.STARTED:
        this.reportedPrompt ??= text(data.prompt_preview);
        return this.line(`worker started in sandbox ${event.entity_id}`);
      case AGENT_EVENT_TYPES.MESSAGE:
        return this.line(messageLine(data));
      case AGENT_EVENT_TYPES.TOOL_USE:
        return this.toolUse(event.entity_id, data);
      case AGENT_EVENT_TYPES.TOOL_COMPLETED:
        return this.toolCompleted(event.entity_id, data);
      case AGENT_EVENT_TYPES.FILE_EDITED:
        recordEdit(this.files, data);
        return this.line(`edited ${text(data.path) ?? '(unknown file)'}${changeCounts(data)}`);
      case AGENT_EVENT_TYPES.ERROR:
        return this.line(`error: ${text(data.message) ?? text(data.error) ?? 'unknown'}`);
      case AGENT_EVENT_TYPES.INTERRUPTED:
        return this.line('the turn was interrupted');
      case SYSTEM_EVENT_TYPES.GUARDIAN_INTERVENTION:
        this.interventions.push(oneLine(interventionLine(data), this.limits.maxStepChars));
        return;
      default:
        return;
    }
  }

  finish(): TrajectoryDigest {
    const steps = this.steps.map((step) =>
      oneLine('line' in step ? step.line : toolLine(step.tool, this.limits), this.limits.maxStepChars),
    );
    return {
      reportedPrompt: this.reportedPrompt,
      steps,
      files: [...this.files.values()],
      interventions: this.interventions,
    };
  }

  private line(line: string | null): void {
    if (line) this.steps.push({ line });
  }

  private toolUse(sandboxId: string, data: Record<string, unknown>): void {
    const tool: ToolStep = { use: data, done: null };
    const callId = text(data.call_id);
    if (callId) this.byCallId.set(`${sandboxId}:${callId}`, tool);
    else queueFor(this.unnamed, sandboxId).push(tool);
    this.steps.push({ tool });
  }

  private toolCompleted(sandboxId: string, data: Record<string, unknown>): void {
    const callId = text(data.call_id);
    const key = `${sandboxId}:${callId}`;
    const tool = (callId ? this.byCallId.get(key) : undefined) ?? queueFor(this.unnamed, sandboxId).shift();
    if (callId) this.byCallId.delete(key);
    if (tool) tool.done = data;
    else this.steps.push({ tool: { use: null, done: data } }); // its tool_use is older than what was read
  }
}

function queueFor(queues: Map<string, ToolStep[]>, sandboxId: string): ToolStep[] {
  let queue = queues.get(sandboxId);
  if (!queue) queues.set(sandboxId, (queue = []));
  return queue;
}

function messageLine(data: Record<string, unknown>): string | null {
  const content = messageText(data);
  if (!content) return null;
  // The worker echoes guardian steering as a system message; the intervention itself is listed apart.
  if (isSteeringMessage(data)) return null;
  const role = text(data.role) ?? 'assistant';
  const speaker = role === 'assistant' ? 'agent' : role;
  return `${speaker} said: ${content}`;
}

function toolLine(tool: ToolStep, limits: StepLimits): string {
  const data = tool.use ?? tool.done ?? {};
  const name = text(data.tool) ?? 'tool';
  const summary = tool.use ? describeInput(tool.use) : null;
  const call = summary ? `${name} \`${summary}\`` : name;
  if (!tool.done) return `ran ${call} → no result (the sandbox stopped before it finished)`;
  return `ran ${call} → ${outcome(tool.done, limits)}`;
}

/** What a tool was asked to do, in a few words: the command, the argv, the path, or its input. */
function describeInput(data: Record<string, unknown>): string | null {
  const input = isRecord(data.input) ? data.input : {};
  // Event data is the sandbox's own JSON: an element String() cannot convert ({"toString":1}) must not throw.
  const argv = Array.isArray(input.argv)
    ? input.argv.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ')
    : null;
  const direct =
    text(input.command) ?? argv ?? text(input.path) ?? text(input.file_path) ?? text(input.pattern) ?? text(input.url);
  const fallback = Object.keys(input).length > 0 ? JSON.stringify(input) : null;
  return direct ?? text(data.command) ?? text(data.summary) ?? fallback;
}

/** The verdict words of each outcome (the contracts' `toolCallOutcome` decides which). */
const VERDICTS: Record<ToolCallOutcome, string> = {
  ok: 'ok',
  failed: 'failed',
  interrupted: 'interrupted',
  unknown: 'done',
};

function outcome(done: Record<string, unknown>, limits: StepLimits): string {
  const result = toolCallOutcome(done);
  const parts: string[] = [];
  const exit = toolExitCode(done);
  if (exit !== null) parts.push(`exit ${exit}`);
  if (done.timed_out === true) parts.push('timed out');
  const verdict = VERDICTS[result];
  const head = parts.length > 0 ? `${verdict} (${parts.join(', ')})` : verdict;
  if (result !== 'failed') return head;
  const why = text(done.error) ?? text(done.stderr) ?? text(done.output);
  return why ? `${head}: ${tail(oneLine(why, Number.MAX_SAFE_INTEGER), limits.maxErrorChars)}` : head;
}

function recordEdit(files: Map<string, EditedFile>, data: Record<string, unknown>): void {
  const path = text(data.path);
  if (!path) return;
  const previous = files.get(path);
  // Re-inserted so the map's order is the order of each file's latest edit.
  files.delete(path);
  files.set(path, {
    path,
    created: (previous?.created ?? false) || data.created === true,
    edits: (previous?.edits ?? 0) + 1,
    additions: (previous?.additions ?? 0) + count(data.additions),
    deletions: (previous?.deletions ?? 0) + count(data.deletions),
  });
}

function changeCounts(data: Record<string, unknown>): string {
  if (typeof data.additions !== 'number' && typeof data.deletions !== 'number') return '';
  return ` (+${count(data.additions)} -${count(data.deletions)})`;
}

function interventionLine(data: Record<string, unknown>): string {
  const detector = text(data.detector) ?? 'guardian';
  const reason = text(data.reason);
  const message = text(data.message);
  return `[${detector}]${reason ? ` ${reason}` : ''}${message ? ` — told the agent: ${message}` : ''}`;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim().length > 0 ? value : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
