import { AGENT_EVENT_TYPES } from '@sandbox-relay/contracts';

/**
 * Event types an agent reports itself. The lifecycle types (`agent.started`, `agent.waiting`,
 * `agent.interrupted`, `agent.completed`, `heartbeat`) belong to the worker loop, which alone knows
 * when a turn starts, ends or is cut short.
 */
export const AGENT_EMITTED_TYPES = [
  AGENT_EVENT_TYPES.THINKING,
  AGENT_EVENT_TYPES.TOOL_USE,
  AGENT_EVENT_TYPES.TOOL_COMPLETED,
  AGENT_EVENT_TYPES.FILE_EDITED,
  AGENT_EVENT_TYPES.MESSAGE,
  AGENT_EVENT_TYPES.ERROR,
  AGENT_EVENT_TYPES.SUBAGENT_STARTED,
  AGENT_EVENT_TYPES.SUBAGENT_COMPLETED,
] as const;
export type AgentEmittedType = (typeof AGENT_EMITTED_TYPES)[number];

/** Reports one catalogue event; never throws and never blocks (the outbox queues it). */
export type AgentEmit = (type: AgentEmittedType, data: Record<string, unknown>) => void;

/** What a turn works on: the task itself (TASK_PLAN / TASK_PROMPT), or a user message. */
export interface TurnInput {
  source: 'task' | 'user_message';
  content: string;
  /** The relay's id of the message this turn answers; absent for the task's initial turn. */
  messageId?: string;
  /** A replacement worker's first turn only: what the task's previous run did (`TASK_CONTEXT`). */
  context?: string;
}

export interface TurnContext {
  /** Aborted when an `interrupt` arrives or the worker shuts down: stop work and return promptly. */
  signal: AbortSignal;
  emit: AgentEmit;
  /** 1 for the first turn; increases by one per turn. */
  turn: number;
}

/** How a turn ended, as far as the task is concerned. */
export interface TurnResult {
  /** The task is finished: the worker reports `agent.completed` and exits. */
  taskComplete?: boolean;
}

/** Steering text from the guardian, to weigh above the next user input. */
export interface SteeringNote {
  content: string;
  messageId: string;
  receivedAt: string;
}

/**
 * An agent runtime behind the worker loop. The loop calls `runTurn` for one input at a time and
 * aborts `signal` to interrupt it; `steer` may be called at any time, during a turn or between turns.
 */
export interface Agent {
  readonly kind: string;
  runTurn(input: TurnInput, context: TurnContext): Promise<TurnResult | void>;
  steer(note: SteeringNote): void;
  /** Releases what the agent holds across turns (the Claude adapter's Claude Code process); called once at the end. */
  close?(): Promise<void>;
}
