import { AGENT_EVENT_TYPES, clipUnits, type EventEnvelope } from '@sandbox-relay/contracts';
import { errorText, isFailedResult, readToolCall, toolName, type ToolCall } from './tool-calls';

/** An event as the trajectory keeps it: big payloads are cut to a preview so memory stays bounded. */
export interface RecentEvent {
  id: string;
  eventType: string;
  /** Guardian clock time when it was observed. */
  at: number;
  data: Record<string, unknown>;
}

/** The same tool call made `count` times in a row. */
export interface ToolCallRepeat {
  call: ToolCall;
  count: number;
}

/** Failed tool results (and non-fatal `agent.error`s) in a row; any successful result resets it. */
export interface FailureStreak {
  count: number;
  /** The tool of each failure in the streak, oldest first (`agent.error` for errors without a tool). */
  tools: string[];
  lastError: string | null;
}

export interface Activity {
  eventType: string;
  at: number;
  /** Set when the activity was a tool call: the call an agent may be hanging in. */
  call: ToolCall | null;
}

/** What detectors and analyzers read; a `Trajectory` changes only through `apply`/`markIntervened`. */
export interface TrajectoryView {
  readonly key: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly recent: readonly RecentEvent[];
  readonly firstSeenAt: number;
  /** Last event of any kind, heartbeats included: the worker is alive. */
  readonly lastSeenAt: number;
  /** Last event that is not a heartbeat: the agent did something. */
  readonly lastProgressAt: number;
  readonly lastActivity: Activity | null;
  /** Set while the agent legitimately waits for a human (`agent.waiting`, `agent.interrupted`). */
  readonly waitingSince: number | null;
  readonly repeat: ToolCallRepeat | null;
  readonly failures: FailureStreak;
  /** When this process last let an intervention through for the key (local cooldown pre-check). */
  readonly lastInterventionAt: number | null;
}

/**
 * - `tracked`: the event updated the trajectory.
 * - `duplicate`: an id at or below the last one seen (a replay after a subscription gap); counting it
 *   again would inflate the repeat and failure streaks.
 * - `terminal`: the agent finished (`agent.completed`) or died (fatal `agent.error`); the store drops
 *   the key, since steering a finished agent is pointless and reviving a dead one is the supervisor's job.
 */
export type ApplyOutcome = 'tracked' | 'duplicate' | 'terminal';

export const DEFAULT_MAX_EVENTS = 20;
const PREVIEW_CHARS = 2_048;

export function trajectoryKey(entityType: string, entityId: string): string {
  // Entity types and ids never contain ':' (contracts' id alphabet), so the key is unambiguous.
  return `${entityType}:${entityId}`;
}

/** A fatal `agent.error` ends the run; others are counted as failures. */
export function isFatalError(data: Record<string, unknown>): boolean {
  return data.fatal === true || data.recoverable === false;
}

export class Trajectory implements TrajectoryView {
  readonly key: string;
  recent: RecentEvent[] = [];
  lastSeenAt: number;
  lastProgressAt: number;
  lastActivity: Activity | null = null;
  waitingSince: number | null = null;
  repeat: ToolCallRepeat | null = null;
  failures: FailureStreak = { count: 0, tools: [], lastError: null };
  lastInterventionAt: number | null = null;
  private lastEventId: bigint | null = null;

  constructor(
    readonly entityType: string,
    readonly entityId: string,
    readonly firstSeenAt: number,
    private readonly maxEvents = DEFAULT_MAX_EVENTS,
  ) {
    this.key = trajectoryKey(entityType, entityId);
    this.lastSeenAt = firstSeenAt;
    this.lastProgressAt = firstSeenAt;
  }

  apply(event: EventEnvelope, now: number): ApplyOutcome {
    if (this.isDuplicate(event.id)) return 'duplicate';
    const data = event.payload;
    this.remember(event, now);
    if (event.event_type === AGENT_EVENT_TYPES.HEARTBEAT) return 'tracked';
    this.lastProgressAt = now;
    const waitingSince = this.waitingSince;
    this.waitingSince = null;
    this.lastActivity = { eventType: event.event_type, at: now, call: null };
    return this.applyActivity(event.event_type, data, now, waitingSince);
  }

  markIntervened(at: number): void {
    this.lastInterventionAt = at;
  }

  /** A detached copy, so an analyzer awaiting an LLM sees the state the finding was made on. */
  snapshot(): TrajectoryView {
    return {
      key: this.key,
      entityType: this.entityType,
      entityId: this.entityId,
      recent: this.recent.map((event) => ({ ...event })),
      firstSeenAt: this.firstSeenAt,
      lastSeenAt: this.lastSeenAt,
      lastProgressAt: this.lastProgressAt,
      lastActivity: this.lastActivity ? { ...this.lastActivity } : null,
      waitingSince: this.waitingSince,
      repeat: this.repeat ? { ...this.repeat } : null,
      failures: { ...this.failures, tools: [...this.failures.tools] },
      lastInterventionAt: this.lastInterventionAt,
    };
  }

  private applyActivity(
    eventType: string,
    data: Record<string, unknown>,
    now: number,
    waitingSince: number | null,
  ): ApplyOutcome {
    switch (eventType) {
      case AGENT_EVENT_TYPES.STARTED:
        // A new run in the same sandbox: earlier streaks say nothing about it.
        this.repeat = null;
        this.failures = { count: 0, tools: [], lastError: null };
        return 'tracked';
      case AGENT_EVENT_TYPES.TOOL_USE: {
        const call = readToolCall(data);
        // An unidentifiable call ends any streak: it is something other than the repeated call.
        if (call) this.recordToolCall(call, now);
        else this.repeat = null;
        return 'tracked';
      }
      case AGENT_EVENT_TYPES.TOOL_COMPLETED:
        this.recordToolResult(data);
        return 'tracked';
      case AGENT_EVENT_TYPES.FILE_EDITED:
        // Edit, run the tests, edit, run them again is work, not a loop: an edit breaks the repeat.
        this.repeat = null;
        return 'tracked';
      case AGENT_EVENT_TYPES.WAITING:
      case AGENT_EVENT_TYPES.INTERRUPTED:
        // An interrupted agent, like a waiting one, idles until a human tells it what to do next.
        // A worker re-announcing that it waits keeps the original start.
        this.waitingSince = waitingSince ?? now;
        return 'tracked';
      case AGENT_EVENT_TYPES.ERROR:
        if (isFatalError(data)) return 'terminal';
        this.recordFailure('agent.error', errorText(data));
        return 'tracked';
      case AGENT_EVENT_TYPES.COMPLETED:
        return 'terminal';
      default:
        return 'tracked';
    }
  }

  private recordToolCall(call: ToolCall, now: number): void {
    this.lastActivity = { eventType: AGENT_EVENT_TYPES.TOOL_USE, at: now, call };
    const previous = this.repeat;
    this.repeat = { call, count: previous && previous.call.signature === call.signature ? previous.count + 1 : 1 };
  }

  private recordToolResult(data: Record<string, unknown>): void {
    if (!isFailedResult(data)) {
      this.failures = { count: 0, tools: [], lastError: null };
      return;
    }
    const named = toolName(data);
    const tool = named === 'unknown tool' ? (this.repeat?.call.tool ?? named) : named;
    this.recordFailure(tool, errorText(data));
  }

  private recordFailure(tool: string, error: string | null): void {
    const tools = [...this.failures.tools, tool].slice(-this.maxEvents);
    this.failures = { count: this.failures.count + 1, tools, lastError: error ?? this.failures.lastError };
  }

  private isDuplicate(id: string): boolean {
    let value: bigint;
    try {
      value = BigInt(id);
    } catch {
      return false; // not a store id (a hand-made event): nothing to compare, accept it
    }
    if (this.lastEventId !== null && value <= this.lastEventId) return true;
    this.lastEventId = value;
    return false;
  }

  private remember(event: EventEnvelope, now: number): void {
    this.lastSeenAt = now;
    this.recent.push({ id: event.id, eventType: event.event_type, at: now, data: compact(event.payload) });
    if (this.recent.length > this.maxEvents) this.recent.shift();
  }
}

function compact(data: Record<string, unknown>): Record<string, unknown> {
  const json = JSON.stringify(data) ?? '{}';
  return json.length <= PREVIEW_CHARS ? data : { _truncated: true, preview: clipUnits(json, PREVIEW_CHARS, '') };
}
