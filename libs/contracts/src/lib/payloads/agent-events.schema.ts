// What a worker reports, per event type: the relay's own worker (libs/worker) and the original system's
// (OmoiOS) `agent.*` names the relay stores and reads. Workers are external, so these are loose objects:
// the fields the relay's worker sends are described, any other field is kept. They are for producers
// (the relay's worker, fixtures); consumers read through event-readers.ts, which never throws.
import { z } from 'zod';
import { HEARTBEAT_STATUSES } from '../event-types';

const Step = z.number().int().nullable().optional();

export const AgentStartedData = z.looseObject({
  task_id: z.string().optional(),
  agent: z.string().optional(),
  prompt_preview: z.string().optional(),
});
export type AgentStartedData = z.infer<typeof AgentStartedData>;

export const AgentThinkingData = z.looseObject({ content: z.string().optional(), step: Step });
export type AgentThinkingData = z.infer<typeof AgentThinkingData>;

/** A tool call. Runtimes name the arguments differently (`input`, `args`, a top-level `command`). */
export const AgentToolUseData = z.looseObject({
  tool: z.string(),
  call_id: z.string().optional(),
  step: Step,
  input: z.unknown().optional(),
});
export type AgentToolUseData = z.infer<typeof AgentToolUseData>;

/**
 * A tool call's result (`toolCallOutcome` reads it). `success` is the verdict; `interrupted` marks a
 * call an interrupt stopped, which is neither a success nor the agent failing.
 */
export const AgentToolCompletedData = z.looseObject({
  tool: z.string(),
  call_id: z.string().optional(),
  step: Step,
  success: z.boolean(),
  exit_code: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  duration_ms: z.number().nullable().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  stdout_truncated: z.boolean().optional(),
  stderr_truncated: z.boolean().optional(),
  timed_out: z.literal(true).optional(),
  interrupted: z.literal(true).optional(),
  error: z.string().optional(),
});
export type AgentToolCompletedData = z.infer<typeof AgentToolCompletedData>;

export const AgentFileEditedData = z.looseObject({
  path: z.string(),
  created: z.boolean().optional(),
  additions: z.number().int().optional(),
  deletions: z.number().int().optional(),
  diff: z.string().optional(),
  diff_truncated: z.boolean().optional(),
  diff_omitted: z.string().optional(),
  bytes: z.number().int().optional(),
  step: Step,
});
export type AgentFileEditedData = z.infer<typeof AgentFileEditedData>;

/** A message in the agent's conversation; `kind: 'steering'` is the worker's echo of guardian steering. */
export const AgentMessageData = z.looseObject({
  role: z.string().optional(),
  content: z.string(),
  kind: z.literal('steering').optional(),
  from: z.string().optional(),
  message_id: z.string().optional(),
  step: Step,
});
export type AgentMessageData = z.infer<typeof AgentMessageData>;

export const AgentWaitingData = z.looseObject({ reason: z.string().optional() });
export type AgentWaitingData = z.infer<typeof AgentWaitingData>;

/** The agent finished; carries its summary and the task's cost (the supervisor adds it to the task). */
export const AgentCompletedData = z.looseObject({
  turns: z.number().int().optional(),
  summary: z.string().optional(),
  result: z.string().optional(),
  cost_usd: z.number().optional(),
  input_tokens: z.number().int().optional(),
  output_tokens: z.number().int().optional(),
  cache_read_tokens: z.number().int().optional(),
  cache_write_tokens: z.number().int().optional(),
});
export type AgentCompletedData = z.infer<typeof AgentCompletedData>;

export const AgentErrorData = z.looseObject({
  message: z.string().optional(),
  error: z.string().optional(),
  fatal: z.boolean().optional(),
});
export type AgentErrorData = z.infer<typeof AgentErrorData>;

export const AgentInterruptedData = z.looseObject({ reason: z.string().optional(), during: z.string().optional() });
export type AgentInterruptedData = z.infer<typeof AgentInterruptedData>;

export const AgentSubagentStartedData = z.looseObject({
  subagent_type: z.string().optional(),
  description: z.string().optional(),
});
export const AgentSubagentCompletedData = z.looseObject({ result: z.string().optional() });

/** The relay worker's heartbeat, every 15 s from its own timer (libs/worker, heartbeat.ts). */
export const RelayHeartbeatData = z.looseObject({
  status: z.enum([
    HEARTBEAT_STATUSES.STARTING,
    HEARTBEAT_STATUSES.RUNNING,
    HEARTBEAT_STATUSES.IDLE,
    HEARTBEAT_STATUSES.COMPLETED,
    HEARTBEAT_STATUSES.STOPPING,
  ]),
  timestamp: z.string(),
  current_action: z.string().nullable(),
  memory_rss_bytes: z.number(),
  queued_events: z.number().int(),
  dropped_events: z.number().int(),
  rejected_events: z.number().int(),
  task_id: z.string(),
  turn: z.number().int(),
  uptime_ms: z.number(),
});
export type RelayHeartbeatData = z.infer<typeof RelayHeartbeatData>;

// ---- The original system's (OmoiOS) agent.* names ---------------------------------------------------

/** The original worker's heartbeat, between turns every 30 s. */
export const OmoiosHeartbeatData = z.looseObject({
  timestamp: z.string().optional(),
  status: z.literal(HEARTBEAT_STATUSES.ALIVE).optional(),
  event_count: z.number().int().optional(),
});
export type OmoiosHeartbeatData = z.infer<typeof OmoiosHeartbeatData>;

/** A message the original's worker injected into the conversation (read by `messageText`). */
export const OmoiosMessageInjectedData = z.looseObject({
  message_id: z.string().optional(),
  content: z.string().optional(),
  message_type: z.string().optional(),
});

/** The original's name for a tool's result (read by `toolCallOutcome`, as `agent.tool_completed`). */
export const OmoiosToolResultData = z.looseObject({
  tool: z.string().optional(),
  success: z.boolean().optional(),
  error: z.string().optional(),
});

/** The original's task failure: moves the task to `failed` (supervisor, task-effects.ts). */
export const AgentFailedData = z.looseObject({ error: z.string().optional(), message: z.string().optional() });

/** The original's continuous mode finished: `{stop_reason, validation_passed, total_cost_usd, …}`. */
export const ContinuousCompletedData = z.looseObject({
  stop_reason: z.string().optional(),
  validation_passed: z.boolean().optional(),
  total_cost_usd: z.number().optional(),
});
