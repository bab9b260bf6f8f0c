import { hash } from 'node:crypto';
import { clipUnits, tailUnits, toolCallOutcome } from '@sandbox-relay/contracts';

/**
 * Reading tool calls and tool results out of free-form `event_data`. Workers of different agent
 * runtimes name things differently (`tool` or `name`, `input` or `args` or a top-level `command`), so
 * every accessor here is defensive: an odd shape yields a neutral answer, never an exception.
 */

type Data = Record<string, unknown>;

/** One tool call, reduced to what the detectors compare and what an intervention text quotes. */
export interface ToolCall {
  tool: string;
  /** Equal for two calls of the same tool with the same arguments, whatever their key order or call ids. */
  signature: string;
  /** A short human-readable view of the arguments, e.g. `command: npm test`. */
  summary: string;
}

const TOOL_NAME_KEYS = ['tool', 'name', 'tool_name'] as const;

/** Where runtimes put a call's arguments, in order of preference. */
const ARGUMENT_CONTAINERS = ['input', 'args', 'arguments', 'params', 'parameters', 'tool_input'] as const;

/**
 * Top-level fields that differ between two otherwise identical calls: ids, clocks and counters. Only
 * ignored at the top level, because inside the arguments `id` or `step` can be the very thing a call
 * is about (`get_issue {id: 7}` and `get_issue {id: 8}` are different calls).
 */
const VOLATILE_TOP_LEVEL_KEYS = new Set([
  'id',
  'event_id',
  'message_id',
  'request_id',
  'call_id',
  'tool_call_id',
  'tool_use_id',
  'timestamp',
  'ts',
  'time',
  'at',
  'created_at',
  'started_at',
  'duration_ms',
  'elapsed_ms',
  'seq',
  'sequence',
  'step',
  'turn',
  'iteration',
]);

/** Keys left out when the rest of `event_data` is the arguments (an empty container is no argument either). */
const NOT_ARGUMENTS = new Set<string>([...VOLATILE_TOP_LEVEL_KEYS, ...TOOL_NAME_KEYS, ...ARGUMENT_CONTAINERS]);

/** Call identities are never arguments, at whatever depth a runtime nests them. */
const VOLATILE_NESTED_KEYS = new Set(['call_id', 'tool_call_id', 'tool_use_id', 'request_id', 'timestamp']);

/** Argument fields that say best what a call does, for the intervention text. */
const SUMMARY_KEYS = ['command', 'cmd', 'file_path', 'path', 'file', 'query', 'pattern', 'url'] as const;

const MAX_DEPTH = 32;
const SUMMARY_CHARS = 120;
const ERROR_CHARS = 200;

/** The tool's name as the runtime reported it, or null when the event does not say. */
function reportedToolName(data: Data): string | null {
  for (const key of TOOL_NAME_KEYS) {
    const value = data[key];
    if (typeof value === 'string' && value.trim()) return oneLine(value, 100);
  }
  return null;
}

export function toolName(data: Data): string {
  return reportedToolName(data) ?? 'unknown tool';
}

/** The arguments of a call: the first argument container present, else the rest of `event_data`. */
export function toolArguments(data: Data): unknown {
  for (const key of ARGUMENT_CONTAINERS) {
    if (data[key] !== undefined && data[key] !== null) return data[key];
  }
  const rest: Data = {};
  for (const [key, value] of Object.entries(data)) {
    if (!NOT_ARGUMENTS.has(key)) rest[key] = value;
  }
  return rest;
}

/**
 * The call an `agent.tool_use` event reports, or null when it names no tool: a call we cannot identify
 * cannot be judged a repeat (two nameless calls whose only fields are counters are not "the same call").
 */
export function readToolCall(data: Data): ToolCall | null {
  const tool = reportedToolName(data);
  if (tool === null) return null;
  const args = toolArguments(data);
  const canonical = stableJson(args);
  // Hashed so a 200 KiB file-write argument does not sit in memory once per tracked sandbox.
  // One-shot hash (no Hash object): a third of createHash's cost, on every tool call the guardian sees.
  const digest = hash('sha256', canonical).slice(0, 32);
  return { tool, signature: `${tool}#${digest}`, summary: summarize(args, canonical) };
}

/**
 * JSON with object keys sorted at every depth and call ids dropped, so `{a:1,b:2}` and `{b:2,a:1}`
 * are one call. Arrays keep their order (argv order matters).
 */
export function stableJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) return '"…"';
  if (Array.isArray(value)) return `[${value.map((item) => stableJson(item, depth + 1)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .filter((key) => !VOLATILE_NESTED_KEYS.has(key) && (value as Data)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Data)[key], depth + 1)}`);
    return `{${entries.join(',')}}`;
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  return JSON.stringify(value) ?? 'null';
}

function summarize(args: unknown, canonical: string): string {
  if (typeof args === 'string') return `input: ${oneLine(args, SUMMARY_CHARS)}`;
  if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
    for (const key of SUMMARY_KEYS) {
      const value = (args as Data)[key];
      if (typeof value === 'string' && value.trim()) return `${key}: ${oneLine(value, SUMMARY_CHARS)}`;
      if (Array.isArray(value) && value.length > 0)
        return `${key}: ${oneLine(value.map(String).join(' '), SUMMARY_CHARS)}`;
    }
  }
  return canonical === '{}' ? 'no arguments' : `arguments: ${oneLine(canonical, SUMMARY_CHARS)}`;
}

/**
 * Whether a tool result counts as the agent failing (the error storm's input): the contracts' one
 * outcome reader decides. An interrupted call is its own outcome, not a failure: the command did what
 * a person asked for; a result that says neither way is not counted either.
 */
export function isFailedResult(data: Data): boolean {
  return toolCallOutcome(data) === 'failed';
}

/** The most telling error text of a failed result or an `agent.error`, shortened to one line. */
export function errorText(data: Data): string | null {
  for (const candidate of [data.error, data.message]) {
    const text = typeof candidate === 'string' ? candidate : messageOf(candidate);
    if (text && text.trim()) return oneLine(text, ERROR_CHARS);
  }
  // A command's diagnosis is usually at the end of its output.
  for (const candidate of [data.stderr, data.output]) {
    if (typeof candidate === 'string' && candidate.trim())
      return tail(oneLine(candidate, Number.MAX_SAFE_INTEGER), ERROR_CHARS);
  }
  if (data.exit_code !== undefined) return `exit code ${String(data.exit_code)}`;
  return null;
}

function tail(text: string, max: number): string {
  return tailUnits(text, max);
}

function messageOf(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null;
  const message = (value as Data).message;
  return typeof message === 'string' ? message : null;
}

/** Collapses whitespace and backticks (the texts quote values inside backticks) and truncates. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/`/g, "'").replace(/\s+/g, ' ').trim();
  return clipUnits(flat, max);
}
