import { FINAL_TASK_STATUSES, TASK_LIFECYCLE_EVENT_TYPES, clipUnits, type TaskStatus } from '@sandbox-relay/contracts';

/** Cost and token counts one event adds to its task (the original worker's `agent.completed` fields). */
export interface UsageDelta {
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** What one worker event does to its task: a status move (compare-and-set from `from`), a cost to add. */
export interface TaskEffect {
  to: TaskStatus | null;
  from: readonly TaskStatus[];
  usage: UsageDelta | null;
  /** Kept on the task when it fails. */
  errorMessage: string | null;
}

/** Statuses a worker's report may move a task out of: not a final one, and not while a restart holds it. */
const MOVABLE: readonly TaskStatus[] = ['pending', 'starting', 'running', 'failed'];
const RUNNING_FROM: readonly TaskStatus[] = ['pending', 'starting', 'failed'];
const FAIL_FROM: readonly TaskStatus[] = ['pending', 'starting', 'running'];

/** The original's message when an `agent.failed` / `agent.error` says nothing. */
export const DEFAULT_FAILURE_MESSAGE = 'Task execution failed';

/**
 * The effect of one worker event on its task, as the original's sandbox endpoint
 * (`POST /sandboxes/{id}/events`) has it:
 * - `agent.started` → `running`;
 * - `agent.completed` → no move: the original waits for its continuous mode's verdict (and has its
 *   single-run worker go on taking messages); its `cost_usd` and tokens are added;
 * - `continuous.completed` → `completed` when `validation_passed` is true, else no move; it carries
 *   `total_cost_usd`, the sum of the iterations whose `agent.completed` were already added, so only a
 *   `cost_usd` of its own would count;
 * - `agent.failed`, `agent.error` → `failed`, with `error` (the original's field) or `message` (the
 *   relay worker's). Except an error marked `fatal: false`: the relay's worker reports errors it
 *   recovers from (a bad plan in a message) and carries on; the original's worker never sets `fatal`.
 * Final statuses (completed, stopped, quarantined) and `restarting` are never moved; `failed` is (the
 * original runs a failed task again on `agent.started`).
 */
export function taskEffectOf(eventType: string, data: Record<string, unknown>): TaskEffect | null {
  switch (eventType) {
    case TASK_LIFECYCLE_EVENT_TYPES.STARTED:
      return { to: 'running', from: RUNNING_FROM, usage: null, errorMessage: null };
    case TASK_LIFECYCLE_EVENT_TYPES.COMPLETED:
      return { to: null, from: [], usage: usageOf(data), errorMessage: null };
    case TASK_LIFECYCLE_EVENT_TYPES.CONTINUOUS_COMPLETED:
      return {
        to: data['validation_passed'] === true ? 'completed' : null,
        from: MOVABLE,
        usage: usageOf(data),
        errorMessage: null,
      };
    case TASK_LIFECYCLE_EVENT_TYPES.FAILED:
    case TASK_LIFECYCLE_EVENT_TYPES.ERROR:
      if (data['fatal'] === false) return null;
      return {
        to: 'failed',
        from: FAIL_FROM,
        usage: null,
        errorMessage: text(data['error']) ?? text(data['message']) ?? DEFAULT_FAILURE_MESSAGE,
      };
    default:
      return null;
  }
}

/** A report of the task's end (`POST /sandboxes/:id/task-complete`): `completed` or `failed`. */
export function taskCompleteEffect(success: boolean, errorMessage: string | null): TaskEffect {
  return success
    ? { to: 'completed', from: MOVABLE, usage: null, errorMessage: null }
    : { to: 'failed', from: FAIL_FROM, usage: null, errorMessage: errorMessage ?? DEFAULT_FAILURE_MESSAGE };
}

export function isFinalTaskStatus(status: string): boolean {
  return (FINAL_TASK_STATUSES as readonly string[]).includes(status);
}

/**
 * The cost fields of a completion: flat, as the original worker sends them (`cost_usd`, `input_tokens`,
 * `output_tokens`, `cache_read_tokens`, `cache_write_tokens`), or the SDK's `usage` object
 * (`input_tokens`, `output_tokens`, `cache_read_input_tokens`, `cache_creation_input_tokens`). Null when
 * it carries none; a negative, fractional or non-numeric count is left out, not trusted.
 */
export function usageOf(data: Record<string, unknown>): UsageDelta | null {
  const usage =
    typeof data['usage'] === 'object' && data['usage'] !== null ? (data['usage'] as Record<string, unknown>) : {};
  const delta: UsageDelta = {
    costUsd: amount(data['cost_usd']) ?? 0,
    inputTokens: count(data['input_tokens']) ?? count(usage['input_tokens']) ?? 0,
    outputTokens: count(data['output_tokens']) ?? count(usage['output_tokens']) ?? 0,
    cacheReadTokens: count(data['cache_read_tokens']) ?? count(usage['cache_read_input_tokens']) ?? 0,
    cacheWriteTokens: count(data['cache_write_tokens']) ?? count(usage['cache_creation_input_tokens']) ?? 0,
  };
  return Object.values(delta).some((value) => value > 0) ? delta : null;
}

const amount = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1e9 ? value : null;
const count = (value: unknown): number | null =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? clipUnits(value, 10_000, '') : null;
