// Tolerant readers of event payloads: one per question the relay's consumers ask of an event (did this
// tool call fail, what does this message say, what did this heartbeat report). Workers are external and
// of several runtimes (the relay's, the original system's, agents run elsewhere), so a reader never
// throws and answers a neutral value for data it does not recognise. The schemas beside these
// (payloads/*.schema.ts) say what the relay's producers must send; these say how anything is read.
//
// Zod-free on purpose: the dashboard bundles this file (`@sandbox-relay/contracts/event-readers`).
import { HEARTBEAT_STATUSES, type HeartbeatStatus } from './event-types';

type Data = Record<string, unknown>;

function asData(payload: unknown): Data {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Data) : {};
}

/** A string with something other than whitespace in it, or null. */
function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim().length > 0 ? value : null;
}

/**
 * How a tool call ended (`agent.tool_completed`, the original's `agent.tool_result`):
 * - `interrupted`: stopped by an interrupt a person (or the relay) asked for. Its own outcome: not the
 *   agent failing (the guardian's error storm does not count it), shown and described as interrupted.
 * - `failed` / `ok`: an explicit boolean (`success`, then `is_error`) wins over inferred signals,
 *   because runtimes that set it also pass a command's stderr through as `error` on success; else a
 *   non-zero `exit_code`, an `error`, or a failure `status` mean failed, and exit code 0 or an ok
 *   `status` mean ok.
 * - `unknown`: the result says neither (each consumer decides how to show that).
 */
export type ToolCallOutcome = 'ok' | 'failed' | 'interrupted' | 'unknown';

export const TOOL_CALL_OUTCOMES: readonly ToolCallOutcome[] = ['ok', 'failed', 'interrupted', 'unknown'];

export function toolCallOutcome(payload: unknown): ToolCallOutcome {
  const data = asData(payload);
  if (data.interrupted === true) return 'interrupted';
  if (typeof data.success === 'boolean') return data.success ? 'ok' : 'failed';
  if (typeof data.is_error === 'boolean') return data.is_error ? 'failed' : 'ok';
  if (nonZeroExitCode(data.exit_code) || hasError(data.error) || isStatusIn(data.status, FAILURE_STATUSES))
    return 'failed';
  if (isZeroExitCode(data.exit_code) || isStatusIn(data.status, OK_STATUSES)) return 'ok';
  return 'unknown';
}

const FAILURE_STATUSES = ['error', 'failed', 'failure'];
const OK_STATUSES = ['ok', 'success', 'succeeded', 'completed'];

function nonZeroExitCode(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value !== 0;
  return typeof value === 'string' && /^-?\d+$/.test(value.trim()) && Number(value) !== 0;
}

function isZeroExitCode(value: unknown): boolean {
  return value === 0 || (typeof value === 'string' && /^-?0+$/.test(value.trim()));
}

function hasError(value: unknown): boolean {
  if (typeof value === 'string') return value.trim().length > 0;
  if (typeof value === 'boolean') return value;
  return value !== null && typeof value === 'object';
}

function isStatusIn(value: unknown, statuses: readonly string[]): boolean {
  return typeof value === 'string' && statuses.includes(value.toLowerCase());
}

/** A tool call's exit code when it reported a finite number, else null. */
export function toolExitCode(payload: unknown): number | null {
  const code = asData(payload).exit_code;
  return typeof code === 'number' && Number.isFinite(code) ? code : null;
}

/**
 * The text of a message (`agent.message`, the original's `agent.message_injected`): `content`, else
 * `text`, else `message`; null when none has any.
 */
export function messageText(payload: unknown): string | null {
  const data = asData(payload);
  return text(data.content) ?? text(data.text) ?? text(data.message);
}

/** Whether a message is the worker's echo of steering it was sent (guardian), not the agent speaking. */
export function isSteeringMessage(payload: unknown): boolean {
  return asData(payload).kind === 'steering';
}

/**
 * The agent's own summary of its work on `agent.completed` (`summary`, else `result`, else what a
 * message would say); null when it gave none.
 */
export function completionSummary(payload: unknown): string | null {
  const data = asData(payload);
  return text(data.summary) ?? text(data.result) ?? messageText(data);
}

const HEARTBEAT_STATUS_SET: ReadonlySet<string> = new Set(Object.values(HEARTBEAT_STATUSES));

/** Whether a stored text (a heartbeat's `status`, read by SQL) is a status the relay knows. */
export function isHeartbeatStatus(value: unknown): value is HeartbeatStatus {
  return typeof value === 'string' && HEARTBEAT_STATUS_SET.has(value);
}

/** The `status` a heartbeat reported, or null when it reported none the relay knows. */
export function heartbeatStatus(payload: unknown): HeartbeatStatus | null {
  const status = asData(payload).status;
  return isHeartbeatStatus(status) ? status : null;
}
