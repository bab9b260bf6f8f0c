import type { EventEnvelope } from '@sandbox-relay/contracts';
import {
  isSteeringMessage,
  messageText,
  toolCallOutcome,
  type ToolCallOutcome,
} from '@sandbox-relay/contracts/event-readers';
import {
  AGENT_EVENT_TYPES,
  BRANCH_WORKFLOW_EVENT_TYPES,
  SUPERVISOR_EVENT_TYPES,
  SYSTEM_EVENT_TYPES,
} from '@sandbox-relay/contracts/event-types';
import { renderDiff, type RenderedDiff } from './diff';
import { formatBytes, formatDuration, humanizeType, oneLine } from './format';

export type Tone = 'neutral' | 'info' | 'ok' | 'warn' | 'bad';

export type Block =
  | { type: 'text'; text: string }
  | { type: 'code'; label: string; text: string }
  | { type: 'diff'; diff: RenderedDiff }
  | { type: 'fields'; fields: Array<[string, string]> }
  /**
   * A link: inside the dashboard (a hash route, e.g. to the sandbox that replaced this one), or
   * `external` (a pull request on GitHub; only http(s) addresses, opened in a new tab).
   */
  | { type: 'link'; text: string; href: string; external?: boolean };

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
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/** The command of a tool call, whatever shape the agent gave it (`command`, `argv`, or other input). */
export function describeToolInput(tool: string, input: unknown): string {
  if (typeof input === 'string') return input;
  if (input && typeof input === 'object') {
    const record = input as Payload;
    const command = str(record['command']);
    if (command) return command;
    if (Array.isArray(record['argv']))
      return record['argv']
        .map((part) => (/[\s"'$]/.test(String(part)) ? JSON.stringify(String(part)) : String(part)))
        .join(' ');
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
  return {
    kind: 'tool',
    tone: 'info',
    icon: '▶',
    title: shell ? `$ ${oneLine(command)}` : oneLine(command),
    detail: shell ? tool : undefined,
    blocks: command.includes('\n') || command.length > 160 ? [{ type: 'code', label: 'command', text: command }] : [],
  };
}

/** How each outcome of a tool call reads (the contracts' `toolCallOutcome` decides which). */
const OUTCOME_LOOK: Record<ToolCallOutcome, { tone: Tone; icon: string; verb: string }> = {
  ok: { tone: 'ok', icon: '✓', verb: 'succeeded' },
  failed: { tone: 'bad', icon: '✗', verb: 'failed' },
  // Stopped by an interrupt someone asked for: not the agent failing (issue 15).
  interrupted: { tone: 'warn', icon: '⏹', verb: 'interrupted' },
  // A result that says neither way is shown as failed, as it always was: a success the feed cannot vouch for would hide trouble.
  unknown: { tone: 'bad', icon: '✗', verb: 'failed' },
};

function toolCompleted(payload: Payload): EventView {
  const tool = str(payload['tool']) ?? 'tool';
  const outcome = toolCallOutcome(payload);
  const exit = num(payload['exit_code']);
  const parts: string[] = [];
  if (outcome !== 'interrupted' && payload['timed_out'] === true) parts.push('timed out');
  if (exit !== undefined) parts.push(`exit ${exit}`);
  else if (str(payload['signal'])) parts.push(`signal ${String(payload['signal'])}`);
  const duration = num(payload['duration_ms']);
  if (duration !== undefined) parts.push(formatDuration(duration));
  const blocks: Block[] = [];
  const error = str(payload['error']);
  // An interrupted call's error only repeats that it was interrupted (the title says so).
  if (error && (outcome === 'failed' || outcome === 'unknown')) blocks.push({ type: 'text', text: error });
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = str(payload[stream]) ?? (stream === 'stdout' ? str(payload['output']) : undefined);
    if (!text) continue;
    const cut = text.length > OUTPUT_PREVIEW_CHARS ? `…${text.slice(-OUTPUT_PREVIEW_CHARS)}` : text;
    blocks.push({
      type: 'code',
      label: payload[`${stream}_truncated`] === true || cut !== text ? `${stream} (tail)` : stream,
      text: cut.replace(/\n$/, ''),
    });
  }
  const look = OUTCOME_LOOK[outcome];
  return {
    kind: 'tool-result',
    tone: look.tone,
    icon: look.icon,
    title: `${tool} ${look.verb}`,
    detail: parts.join(' · ') || undefined,
    blocks,
  };
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
  else if (str(payload['diff_omitted']))
    blocks.push({ type: 'text', text: `diff not shown (${String(payload['diff_omitted'])})` });
  if (payload['diff_truncated'] === true)
    blocks.push({ type: 'text', text: 'the diff was cut by the worker (too large)' });
  return { kind: 'edit', tone: 'info', icon: '✎', title: path, detail: detail.join(' · '), blocks };
}

function message(payload: Payload): EventView {
  const role = str(payload['role']) ?? 'assistant';
  const content = messageText(payload) ?? '';
  const steering = isSteeringMessage(payload);
  const who = steering ? `steering from ${str(payload['from']) ?? 'guardian'}` : role === 'assistant' ? 'agent' : role;
  return {
    kind: steering ? 'guardian' : 'message',
    tone: steering ? 'warn' : 'neutral',
    icon: steering ? '⚑' : '❝',
    title: who,
    detail: undefined,
    blocks: content ? [{ type: 'text', text: content }] : [],
  };
}

function heartbeat(payload: Payload): EventView {
  const parts = [str(payload['status']), str(payload['current_action'])].filter(Boolean) as string[];
  const rss = num(payload['memory_rss_bytes']);
  if (rss !== undefined) parts.push(formatBytes(rss));
  const queued = num(payload['queued_events']);
  if (queued) parts.push(`${queued} queued`);
  return {
    kind: 'heartbeat',
    tone: 'neutral',
    icon: '♥',
    title: 'heartbeat',
    detail: parts.join(' · ') || undefined,
    blocks: [],
  };
}

function queued(payload: Payload): EventView {
  const type = str(payload['message_type']) ?? 'message';
  const preview = str(payload['content_preview']) ?? '';
  const interrupt = type === 'interrupt';
  // Steering from the relay's guardian (guardian_intervention) or the original system's (guardian_nudge).
  const steering = type === 'guardian_intervention' || type === 'guardian_nudge';
  return {
    kind: 'queued',
    tone: interrupt || steering ? 'warn' : 'info',
    icon: interrupt ? '⏹' : steering ? '⚑' : '✉',
    title: `${type.replace(/_/g, ' ')} queued`,
    detail: str(payload['message_id']) ? `#${String(payload['message_id'])}` : undefined,
    blocks: preview ? [{ type: 'text', text: preview }] : [],
  };
}

function guardian(payload: Payload): EventView {
  const detector = str(payload['detector']) ?? 'intervention';
  const blocks: Block[] = [];
  const reason = str(payload['reason']);
  if (reason) blocks.push({ type: 'fields', fields: [['why', reason]] });
  const text = str(payload['message']);
  if (text) blocks.push({ type: 'text', text });
  return {
    kind: 'guardian',
    tone: 'warn',
    icon: '⚑',
    title: `guardian: ${detector.replace(/_/g, ' ')}`,
    detail: str(payload['routed']) ? `routed to ${String(payload['routed'])}` : undefined,
    blocks,
  };
}

const sandboxLink = (sandboxId: string, text: string): Block => ({
  type: 'link',
  text,
  href: `#/sandboxes/${encodeURIComponent(sandboxId)}`,
});

/** An address from a payload, as a link only when it is http(s): never `javascript:` or the like. */
export function safeExternalUrl(value: unknown): string | undefined {
  const url = str(value);
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** Milliseconds between two ISO instants, or undefined when either is missing or unreadable. */
function between(fromIso: string | undefined, toIso: string | undefined): number | undefined {
  if (!fromIso || !toIso) return undefined;
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

function clock(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? undefined
    : date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * The supervisor's heartbeat ladder (`{missed, last_seen_at, heartbeat_interval_ms}`): how many beats
 * were missed and how old the last one was when the supervisor noticed.
 */
const heartbeatLadder =
  (step: 'missed' | 'degraded' | 'recovered'): Renderer =>
  (payload, event) => {
    const missed = num(payload['missed']);
    const lastSeen = str(payload['last_seen_at']);
    const age = between(lastSeen, event.timestamp);
    const interval = num(payload['heartbeat_interval_ms']);
    const parts: string[] = [];
    if (missed !== undefined)
      parts.push(
        step === 'recovered' ? `after ${plural(missed, 'missed heartbeat')}` : plural(missed, 'missed heartbeat'),
      );
    if (age !== undefined && step !== 'recovered') parts.push(`last heartbeat ${formatDuration(age)} before`);
    const fields: Array<[string, string]> = [];
    const seenAt = clock(lastSeen);
    if (seenAt) fields.push(['last heartbeat', seenAt]);
    if (interval !== undefined) fields.push(['interval', formatDuration(interval)]);
    const titles = {
      missed: 'heartbeat missed',
      degraded: 'sandbox DEGRADED',
      recovered: 'heartbeats recovered',
    } as const;
    const tones: Record<typeof step, Tone> = { missed: 'warn', degraded: 'bad', recovered: 'ok' };
    const icons = { missed: '♡', degraded: '◆', recovered: '♥' } as const;
    return {
      kind: 'supervisor',
      tone: tones[step],
      icon: icons[step],
      title: titles[step],
      detail: parts.join(' · ') || undefined,
      blocks: fields.length ? [{ type: 'fields', fields }] : [],
    };
  };

/** `{old_sandbox_id, new_sandbox_id, reason, attempt, forced}`: links both ways between the two sandboxes. */
function restarted(payload: Payload): EventView {
  const from = str(payload['old_sandbox_id']) ?? str(payload['from']);
  const to = str(payload['new_sandbox_id']) ?? str(payload['to']);
  const reason = str(payload['reason']);
  const attempt = num(payload['attempt']);
  const parts: string[] = [];
  if (from && to) parts.push(`${from} → ${to}`);
  if (attempt !== undefined) parts.push(`attempt ${attempt}`);
  if (payload['forced'] === true) parts.push('forced');
  const blocks: Block[] = [];
  if (reason) blocks.push({ type: 'fields', fields: [['reason', reason]] });
  if (from) blocks.push(sandboxLink(from, `← replaced ${from}`));
  if (to) blocks.push(sandboxLink(to, `open ${to} →`));
  return {
    kind: 'restart',
    tone: 'warn',
    icon: '↻',
    title: 'agent restarted',
    detail: parts.join(' · ') || undefined,
    blocks,
  };
}

function restartFailed(payload: Payload): EventView {
  const blocks: Block[] = [];
  const reason = str(payload['reason']);
  if (reason) blocks.push({ type: 'fields', fields: [['reason', reason]] });
  const error = str(payload['error']);
  if (error) blocks.push({ type: 'code', label: 'error', text: error });
  return {
    kind: 'restart',
    tone: 'bad',
    icon: '↻',
    title: 'restart failed',
    detail: str(payload['old_sandbox_id']) ? `replacing ${String(payload['old_sandbox_id'])}` : undefined,
    blocks,
  };
}

/** `{reason, trigger, restarts_in_window, window_ms?}`: the restart intensity that stopped the task. */
function quarantined(payload: Payload): EventView {
  const count = num(payload['restarts_in_window']);
  const windowMs = num(payload['window_ms']);
  const detail =
    count === undefined
      ? undefined
      : `${plural(count, 'restart')} ${windowMs !== undefined ? `within ${formatDuration(windowMs)}` : 'in the window'}`;
  const fields: Array<[string, string]> = [];
  const reason = str(payload['reason']);
  if (reason) fields.push(['reason', reason]);
  const trigger = str(payload['trigger']);
  if (trigger) fields.push(['last trigger', trigger]);
  return {
    kind: 'supervisor',
    tone: 'bad',
    icon: '✖',
    title: 'task quarantined: no more restarts',
    detail,
    blocks: fields.length ? [{ type: 'fields', fields }] : [],
  };
}

/** `{idle_for_ms, idle_since}`. */
function idleStopped(payload: Payload): EventView {
  const idle = num(payload['idle_for_ms']);
  const since = clock(str(payload['idle_since']));
  return {
    kind: 'supervisor',
    tone: 'neutral',
    icon: '⏻',
    title: idle !== undefined ? `stopped after ${formatDuration(idle)} idle` : 'stopped as idle',
    detail: since ? `idle since ${since}` : undefined,
    blocks: [],
  };
}

const taskStep =
  (icon: string, tone: Tone, title: string): Renderer =>
  (payload) => {
    const parts = [
      str(payload['task_id']) ? `task ${String(payload['task_id'])}` : undefined,
      str(payload['provider']),
      str(payload['agent_id']),
    ].filter(Boolean) as string[];
    const reason = str(payload['reason']);
    return {
      kind: 'supervisor',
      tone,
      icon,
      title,
      detail: parts.join(' · ') || undefined,
      blocks: reason ? [{ type: 'fields', fields: [['reason', reason]] }] : [],
    };
  };

/** The branch workflow's events (entity `ticket`): branch, pull request (linked), merge, failure. */
function branchWorkflow(payload: Payload, event: EventEnvelope): EventView {
  const branch = str(payload['branch_name']);
  const pr = num(payload['pr_number']);
  const url = safeExternalUrl(payload['pr_url']);
  const repo = str(payload['repo']);
  const blocks: Block[] = [];
  switch (event.event_type) {
    case BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED:
      return {
        kind: 'branch',
        tone: 'info',
        icon: '↱',
        title: `branch ${branch ?? 'created'}`,
        detail:
          [str(payload['base_branch']) ? `from ${String(payload['base_branch'])}` : undefined, repo]
            .filter(Boolean)
            .join(' · ') || undefined,
        blocks,
      };
    case BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED:
    case BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED: {
      const merged = event.event_type === BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED;
      if (url)
        blocks.push({
          type: 'link',
          text: `${pr !== undefined ? `PR #${pr}` : 'pull request'} on ${new URL(url).host} ↗`,
          href: url,
          external: true,
        });
      const parts: string[] = [];
      if (branch) parts.push(branch);
      const files = num(payload['files_changed']);
      if (files !== undefined) parts.push(plural(files, 'file'));
      const sha = str(payload['merge_sha']);
      if (sha) parts.push(sha.slice(0, 7));
      return {
        kind: 'branch',
        tone: merged ? 'ok' : 'info',
        icon: merged ? '✓' : '⇅',
        title: `${pr !== undefined ? `PR #${pr}` : 'pull request'} ${merged ? 'merged' : 'opened'}`,
        detail: parts.join(' · ') || undefined,
        blocks,
      };
    }
    default: {
      const fields: Array<[string, string]> = [];
      for (const key of ['step', 'code', 'github_status', 'branch_name'] as const) {
        const value = payload[key];
        if (value !== undefined && value !== null && value !== '') fields.push([key.replace(/_/g, ' '), String(value)]);
      }
      if (fields.length) blocks.push({ type: 'fields', fields });
      const text = str(payload['message']);
      if (text) blocks.push({ type: 'text', text });
      return {
        kind: 'branch',
        tone: 'bad',
        icon: '⚠',
        title: `branch workflow failed${str(payload['step']) ? ` at ${String(payload['step'])}` : ''}`,
        detail: repo,
        blocks,
      };
    }
  }
}

const lifecycle =
  (icon: string, tone: Tone, title: (payload: Payload) => string, textKey?: string): Renderer =>
  (payload) => {
    const text = textKey ? str(payload[textKey]) : undefined;
    return { kind: 'lifecycle', tone, icon, title: title(payload), blocks: text ? [{ type: 'text', text }] : [] };
  };

/** Renderers by event type: the catalogue of `libs/contracts` (agent, system, supervisor and branch-workflow types). */
export const RENDERERS: Record<string, Renderer> = {
  [AGENT_EVENT_TYPES.TOOL_USE]: toolUse,
  [AGENT_EVENT_TYPES.TOOL_COMPLETED]: toolCompleted,
  [AGENT_EVENT_TYPES.FILE_EDITED]: fileEdited,
  [AGENT_EVENT_TYPES.MESSAGE]: message,
  [AGENT_EVENT_TYPES.HEARTBEAT]: heartbeat,
  [AGENT_EVENT_TYPES.THINKING]: (payload) => ({
    kind: 'thinking',
    tone: 'neutral',
    icon: '…',
    title: 'thinking',
    blocks: str(payload['content']) ? [{ type: 'text', text: String(payload['content']) }] : [],
  }),
  [AGENT_EVENT_TYPES.STARTED]: lifecycle(
    '●',
    'ok',
    (p) => `agent started${str(p['agent']) ? ` (${String(p['agent'])})` : ''}`,
    'prompt_preview',
  ),
  [AGENT_EVENT_TYPES.WAITING]: lifecycle(
    '⏸',
    'neutral',
    (p) => `waiting${str(p['reason']) ? `: ${String(p['reason'])}` : ''}`,
  ),
  [AGENT_EVENT_TYPES.COMPLETED]: lifecycle(
    '■',
    'ok',
    (p) => `agent completed${num(p['turns']) !== undefined ? ` after ${String(p['turns'])} turn(s)` : ''}`,
  ),
  [AGENT_EVENT_TYPES.ERROR]: lifecycle('⚠', 'bad', (p) => (p['fatal'] === true ? 'fatal error' : 'error'), 'message'),
  [AGENT_EVENT_TYPES.INTERRUPTED]: lifecycle(
    '⏹',
    'warn',
    (p) => `interrupted${str(p['during']) ? ` during ${String(p['during'])}` : ''}`,
    'reason',
  ),
  [AGENT_EVENT_TYPES.SUBAGENT_STARTED]: lifecycle(
    '◐',
    'info',
    (p) => `subagent started${str(p['subagent_type']) ? `: ${String(p['subagent_type'])}` : ''}`,
    'description',
  ),
  [AGENT_EVENT_TYPES.SUBAGENT_COMPLETED]: lifecycle('◑', 'info', () => 'subagent completed', 'result'),
  [SYSTEM_EVENT_TYPES.SANDBOX_MESSAGE_QUEUED]: queued,
  [SYSTEM_EVENT_TYPES.GUARDIAN_INTERVENTION]: guardian,
  [SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED]: restarted,
  [SUPERVISOR_EVENT_TYPES.RESTART_FAILED]: restartFailed,
  [SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED]: heartbeatLadder('missed'),
  [SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED]: heartbeatLadder('degraded'),
  [SUPERVISOR_EVENT_TYPES.SANDBOX_RECOVERED]: heartbeatLadder('recovered'),
  [SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED]: quarantined,
  [SUPERVISOR_EVENT_TYPES.SANDBOX_IDLE_STOPPED]: idleStopped,
  [SUPERVISOR_EVENT_TYPES.TASK_STARTED]: taskStep('▶', 'info', 'task started'),
  [SUPERVISOR_EVENT_TYPES.TASK_COMPLETED]: taskStep('■', 'ok', 'task completed'),
  [SUPERVISOR_EVENT_TYPES.TASK_STOPPED]: taskStep('⏹', 'neutral', 'task stopped'),
  [BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED]: branchWorkflow,
  [BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED]: branchWorkflow,
  [BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED]: branchWorkflow,
  [BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_WORKFLOW_FAILED]: branchWorkflow,
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
  const nested = Object.fromEntries(
    Object.entries(payload).filter(([, value]) => value !== null && typeof value === 'object'),
  );
  if (Object.keys(nested).length)
    blocks.push({ type: 'code', label: 'data', text: JSON.stringify(nested, null, 2).slice(0, OUTPUT_PREVIEW_CHARS) });
  return {
    kind: 'generic',
    tone,
    icon: tone === 'bad' ? '⚠' : tone === 'warn' ? '◆' : icon,
    title: humanizeType(eventType),
    blocks,
  };
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
