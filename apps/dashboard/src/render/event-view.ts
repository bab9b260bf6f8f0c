import type { EventEnvelope } from '@sandbox-relay/contracts';
import { AGENT_EVENT_TYPES, SYSTEM_EVENT_TYPES } from '@sandbox-relay/contracts/event-types';
import { renderDiff, type RenderedDiff } from './diff';
import { formatBytes, formatDuration, humanizeType, oneLine } from './format';

export type Tone = 'neutral' | 'info' | 'ok' | 'warn' | 'bad';

export type Block =
  | { type: 'text'; text: string }
  | { type: 'code'; label: string; text: string }
  | { type: 'diff'; diff: RenderedDiff }
  | { type: 'fields'; fields: Array<[string, string]> }
  /** A link inside the dashboard (a hash route), e.g. to the sandbox that replaced this one. */
  | { type: 'link'; text: string; href: string };

/** An event as a person reads it: one headline, optional detail, and blocks below. */
export interface EventView {
  /** CSS hook and a coarse category: `tool`, `edit`, `message`, `guardian`, `lifecycle`, … */
  kind: string;
  tone: Tone;
  icon: string;
  title: string;
  /** A short line after the title: exit code and duration, +/- counts, … */
  detail?: string;
  blocks: Block[];
}

type Payload = Record<string, unknown>;
type Renderer = (payload: Payload, event: EventEnvelope) => EventView;

/** Diff lines shown inline before "show all"; the rest stay out of the DOM. */
export const DIFF_PREVIEW_LINES = 40;
const OUTPUT_PREVIEW_CHARS = 2_000;

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** The command of a tool call, whatever shape the agent gave it (`command`, `argv`, or other input). */
export function describeToolInput(tool: string, input: unknown): string {
  if (typeof input === 'string') return input;
  if (input && typeof input === 'object') {
    const record = input as Payload;
    const command = str(record['command']);
    if (command) return command;
    if (Array.isArray(record['argv'])) return record['argv'].map((part) => (/[\s"'$]/.test(String(part)) ? JSON.stringify(String(part)) : String(part))).join(' ');
    const path = str(record['file_path']) ?? str(record['path']);
    if (path) return `${tool} ${path}`;
    const pattern = str(record['pattern']) ?? str(record['query']) ?? str(record['url']);
    if (pattern) return `${tool} ${pattern}`;
    return `${tool} ${JSON.stringify(input)}`;
  }
  return tool;
}

function toolUse(payload: Payload): EventView {
  const tool = str(payload['tool']) ?? 'tool';
  const shell = tool === 'bash' || tool === 'Bash' || tool === 'exec';
  const command = describeToolInput(tool, payload['input'] ?? payload['command'] ?? payload['args']);
  return { kind: 'tool', tone: 'info', icon: '▶', title: shell ? `$ ${oneLine(command)}` : oneLine(command), detail: shell ? tool : undefined, blocks: command.includes('\n') || command.length > 160 ? [{ type: 'code', label: 'command', text: command }] : [] };
}

function toolCompleted(payload: Payload): EventView {
  const tool = str(payload['tool']) ?? 'tool';
  const exit = num(payload['exit_code']);
  const ok = payload['success'] === true || (payload['success'] === undefined && exit === 0);
  const parts: string[] = [];
  if (payload['interrupted'] === true) parts.push('interrupted');
  else if (payload['timed_out'] === true) parts.push('timed out');
  if (exit !== undefined) parts.push(`exit ${exit}`);
  else if (str(payload['signal'])) parts.push(`signal ${String(payload['signal'])}`);
  const duration = num(payload['duration_ms']);
  if (duration !== undefined) parts.push(formatDuration(duration));
  const blocks: Block[] = [];
  const error = str(payload['error']);
  if (error && !ok) blocks.push({ type: 'text', text: error });
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = str(payload[stream]) ?? (stream === 'stdout' ? str(payload['output']) : undefined);
    if (!text) continue;
    const cut = text.length > OUTPUT_PREVIEW_CHARS ? `…${text.slice(-OUTPUT_PREVIEW_CHARS)}` : text;
    blocks.push({ type: 'code', label: payload[`${stream}_truncated`] === true || cut !== text ? `${stream} (tail)` : stream, text: cut.replace(/\n$/, '') });
  }
  return { kind: 'tool-result', tone: ok ? 'ok' : 'bad', icon: ok ? '✓' : '✗', title: `${tool} ${ok ? 'succeeded' : 'failed'}`, detail: parts.join(' · ') || undefined, blocks };
}

function fileEdited(payload: Payload): EventView {
  const path = str(payload['path']) ?? str(payload['file_path']) ?? 'a file';
  const patch = str(payload['diff']);
  const diff = patch ? renderDiff(patch, DIFF_PREVIEW_LINES) : undefined;
  const additions = num(payload['additions']) ?? diff?.additions ?? 0;
  const deletions = num(payload['deletions']) ?? diff?.deletions ?? 0;
  const detail = [`+${additions} −${deletions}`];
  if (payload['created'] === true) detail.unshift('new file');
  const bytes = num(payload['bytes']);
  if (bytes !== undefined) detail.push(formatBytes(bytes));
  const blocks: Block[] = [];
  if (diff) blocks.push({ type: 'diff', diff });
  else if (str(payload['diff_omitted'])) blocks.push({ type: 'text', text: `diff not shown (${String(payload['diff_omitted'])})` });
  if (payload['diff_truncated'] === true) blocks.push({ type: 'text', text: 'the diff was cut by the worker (too large)' });
  return { kind: 'edit', tone: 'info', icon: '✎', title: path, detail: detail.join(' · '), blocks };
}

function message(payload: Payload): EventView {
  const role = str(payload['role']) ?? 'assistant';
  const content = str(payload['content']) ?? str(payload['text']) ?? str(payload['message']) ?? '';
  const steering = payload['kind'] === 'steering';
  const who = steering ? `steering from ${str(payload['from']) ?? 'guardian'}` : role === 'assistant' ? 'agent' : role;
  return { kind: steering ? 'guardian' : 'message', tone: steering ? 'warn' : 'neutral', icon: steering ? '⚑' : '❝', title: who, detail: undefined, blocks: content ? [{ type: 'text', text: content }] : [] };
}

function heartbeat(payload: Payload): EventView {
  const parts = [str(payload['status']), str(payload['current_action'])].filter(Boolean) as string[];
  const rss = num(payload['memory_rss_bytes']);
  if (rss !== undefined) parts.push(formatBytes(rss));
  const queued = num(payload['queued_events']);
  if (queued) parts.push(`${queued} queued`);
  return { kind: 'heartbeat', tone: 'neutral', icon: '♥', title: 'heartbeat', detail: parts.join(' · ') || undefined, blocks: [] };
}

function queued(payload: Payload): EventView {
  const type = str(payload['message_type']) ?? 'message';
  const preview = str(payload['content_preview']) ?? '';
  const interrupt = type === 'interrupt';
  return { kind: 'queued', tone: interrupt ? 'warn' : 'info', icon: interrupt ? '⏹' : '✉', title: `${type.replace(/_/g, ' ')} queued`, detail: str(payload['message_id']) ? `#${String(payload['message_id'])}` : undefined, blocks: preview ? [{ type: 'text', text: preview }] : [] };
}

function guardian(payload: Payload): EventView {
  const detector = str(payload['detector']) ?? 'intervention';
  const blocks: Block[] = [];
  const reason = str(payload['reason']);
  if (reason) blocks.push({ type: 'fields', fields: [['why', reason]] });
  const text = str(payload['message']);
  if (text) blocks.push({ type: 'text', text });
  return { kind: 'guardian', tone: 'warn', icon: '⚑', title: `guardian: ${detector.replace(/_/g, ' ')}`, detail: str(payload['routed']) ? `routed to ${String(payload['routed'])}` : undefined, blocks };
}

function restarted(payload: Payload): EventView {
  const from = str(payload['old_sandbox_id']) ?? str(payload['from']);
  const to = str(payload['new_sandbox_id']) ?? str(payload['to']);
  const fields = scalarFields(payload, ['old_sandbox_id', 'new_sandbox_id', 'reason']);
  const reason = str(payload['reason']);
  const blocks: Block[] = [];
  if (reason) blocks.push({ type: 'text', text: reason });
  if (fields.length) blocks.push({ type: 'fields', fields });
  if (to) blocks.push({ type: 'link', text: `open ${to} →`, href: `#/sandboxes/${encodeURIComponent(to)}` });
  return { kind: 'restart', tone: 'warn', icon: '↻', title: 'agent restarted', detail: from && to ? `${from} → ${to}` : undefined, blocks };
}

const lifecycle = (icon: string, tone: Tone, title: (payload: Payload) => string, textKey?: string): Renderer => (payload) => {
  const text = textKey ? str(payload[textKey]) : undefined;
  return { kind: 'lifecycle', tone, icon, title: title(payload), blocks: text ? [{ type: 'text', text }] : [] };
};

/** Renderers by event type: the catalogue of `libs/contracts` (agent and system types). */
export const RENDERERS: Record<string, Renderer> = {
  [AGENT_EVENT_TYPES.TOOL_USE]: toolUse,
  [AGENT_EVENT_TYPES.TOOL_COMPLETED]: toolCompleted,
  [AGENT_EVENT_TYPES.FILE_EDITED]: fileEdited,
  [AGENT_EVENT_TYPES.MESSAGE]: message,
  [AGENT_EVENT_TYPES.HEARTBEAT]: heartbeat,
  [AGENT_EVENT_TYPES.THINKING]: (payload) => ({ kind: 'thinking', tone: 'neutral', icon: '…', title: 'thinking', blocks: str(payload['content']) ? [{ type: 'text', text: String(payload['content']) }] : [] }),
  [AGENT_EVENT_TYPES.STARTED]: lifecycle('●', 'ok', (p) => `agent started${str(p['agent']) ? ` (${String(p['agent'])})` : ''}`, 'prompt_preview'),
  [AGENT_EVENT_TYPES.WAITING]: lifecycle('⏸', 'neutral', (p) => `waiting${str(p['reason']) ? `: ${String(p['reason'])}` : ''}`),
  [AGENT_EVENT_TYPES.COMPLETED]: lifecycle('■', 'ok', (p) => `agent completed${num(p['turns']) !== undefined ? ` after ${String(p['turns'])} turn(s)` : ''}`),
  [AGENT_EVENT_TYPES.ERROR]: lifecycle('⚠', 'bad', (p) => (p['fatal'] === true ? 'fatal error' : 'error'), 'message'),
  [AGENT_EVENT_TYPES.INTERRUPTED]: lifecycle('⏹', 'warn', (p) => `interrupted${str(p['during']) ? ` during ${String(p['during'])}` : ''}`, 'reason'),
  [AGENT_EVENT_TYPES.SUBAGENT_STARTED]: lifecycle('◐', 'info', (p) => `subagent started${str(p['subagent_type']) ? `: ${String(p['subagent_type'])}` : ''}`, 'description'),
  [AGENT_EVENT_TYPES.SUBAGENT_COMPLETED]: lifecycle('◑', 'info', () => 'subagent completed', 'result'),
  [SYSTEM_EVENT_TYPES.SANDBOX_MESSAGE_QUEUED]: queued,
  [SYSTEM_EVENT_TYPES.GUARDIAN_INTERVENTION]: guardian,
  [SYSTEM_EVENT_TYPES.AGENT_RESTARTED]: restarted,
  [SYSTEM_EVENT_TYPES.SANDBOX_IDLE_STOPPED]: (payload) => generic(payload, SYSTEM_EVENT_TYPES.SANDBOX_IDLE_STOPPED, 'neutral', '⏻'),
};

/**
 * The tone of a type this dashboard has no renderer for, guessed from its name, so the supervisor's
 * and the branch workflow's new types (DEGRADED, quarantine, BRANCH_WORKFLOW_FAILED…) read right.
 */
export function toneOf(eventType: string): Tone {
  const upper = eventType.toUpperCase();
  if (/FAIL|ERROR|QUARANTIN|CRASH/.test(upper)) return 'bad';
  if (/DEGRADED|WARN|MISSED|RESTART|STUCK|TIMEOUT|INTERRUPT/.test(upper)) return 'warn';
  if (/MERGED|COMPLETED|SUCCEEDED|RECOVERED|HEALTHY/.test(upper)) return 'ok';
  if (/^BRANCH_|^PR_/.test(upper)) return 'info';
  return 'neutral';
}

/** Up to eight scalar fields of a payload, in its own order, for types without their own renderer. */
export function scalarFields(payload: Payload, skip: readonly string[] = []): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(payload)) {
    if (skip.includes(key) || value === null || value === undefined) continue;
    if (typeof value === 'object') continue;
    fields.push([key.replace(/_/g, ' '), oneLine(String(value), 200)]);
    if (fields.length === 8) break;
  }
  return fields;
}

/** Any event type: its name made readable, its scalar fields, and the rest as JSON. */
export function generic(payload: Payload, eventType: string, tone = toneOf(eventType), icon = '•'): EventView {
  const blocks: Block[] = [];
  const fields = scalarFields(payload);
  if (fields.length) blocks.push({ type: 'fields', fields });
  const nested = Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== null && typeof value === 'object'));
  if (Object.keys(nested).length) blocks.push({ type: 'code', label: 'data', text: JSON.stringify(nested, null, 2).slice(0, OUTPUT_PREVIEW_CHARS) });
  return { kind: 'generic', tone, icon: tone === 'bad' ? '⚠' : tone === 'warn' ? '◆' : icon, title: humanizeType(eventType), blocks };
}

/** The view of one event: its type's renderer, or the generic one. A renderer that throws falls back too. */
export function viewOf(event: EventEnvelope): EventView {
  const renderer = RENDERERS[event.event_type];
  const payload = event.payload && typeof event.payload === 'object' ? event.payload : {};
  if (renderer) {
    try {
      return renderer(payload, event);
    } catch {
      // A payload of an unexpected shape must not break the feed.
    }
  }
  return generic(payload, event.event_type);
}
