import {
  AGENT_EVENT_TYPES,
  ENTITY_TYPES,
  EVENT_LIMITS,
  SYSTEM_EVENT_TYPES,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import type { EventQuery } from '@sandbox-relay/store';
import { clip, oneLine, truncateUtf8, utf8Bytes } from './text-bounds';
import { digestTrajectory, type EditedFile, type StepLimits } from './trajectory-steps';

/** The event types the context is built from; heartbeats and thinking are left in the store. */
export const TRAJECTORY_EVENT_TYPES: readonly string[] = [
  AGENT_EVENT_TYPES.STARTED,
  AGENT_EVENT_TYPES.MESSAGE,
  AGENT_EVENT_TYPES.TOOL_USE,
  AGENT_EVENT_TYPES.TOOL_COMPLETED,
  AGENT_EVENT_TYPES.FILE_EDITED,
  AGENT_EVENT_TYPES.ERROR,
  AGENT_EVENT_TYPES.INTERRUPTED,
  SYSTEM_EVENT_TYPES.GUARDIAN_INTERVENTION,
];

/**
 * The `EventRepository.list` query for one page of a task's trajectory: the old sandboxes' events of
 * the types above, newest first below `before`.
 */
export function trajectoryEventQuery(
  oldSandboxIds: readonly string[],
  page: { before?: string; limit?: number } = {},
): EventQuery {
  return {
    entityTypes: [ENTITY_TYPES.SANDBOX],
    entityIds: [...new Set(oldSandboxIds)],
    eventTypes: TRAJECTORY_EVENT_TYPES,
    order: 'desc',
    ...(page.before !== undefined ? { before: page.before } : {}),
    limit: page.limit ?? EVENT_LIMITS.HISTORY_LIMIT_MAX,
  };
}

export interface TrajectoryReadOptions {
  /** Events per page (at most the store's 1000). */
  pageSize: number;
  /** The newest events kept: more than the context can show, so the bound is on bytes, not here. */
  keep: number;
}

export const DEFAULT_TRAJECTORY_READ: TrajectoryReadOptions = { pageSize: 1_000, keep: 2_000 };

/**
 * Reads the newest `keep` trajectory events of the old sandboxes through `list` (EventRepository.list
 * bound to the store), newest pages first, and returns them in ascending id order. `complete` says
 * whether that is the whole trajectory (no older event was left out).
 */
export async function readTrajectoryEvents(
  list: (query: EventQuery) => Promise<EventEnvelope[]>,
  oldSandboxIds: readonly string[],
  options: Partial<TrajectoryReadOptions> = {},
): Promise<{ events: EventEnvelope[]; complete: boolean }> {
  const { pageSize, keep } = { ...DEFAULT_TRAJECTORY_READ, ...options };
  const newestFirst: EventEnvelope[] = [];
  let before: string | undefined;
  while (newestFirst.length < keep) {
    const limit = Math.min(pageSize, keep - newestFirst.length);
    const page = await list(trajectoryEventQuery(oldSandboxIds, { before, limit }));
    newestFirst.push(...page);
    if (page.length < limit) return { events: newestFirst.reverse(), complete: true };
    before = page[page.length - 1]!.id;
  }
  // Exactly `keep` read: the trajectory is complete only if nothing older remains.
  const older = await list(trajectoryEventQuery(oldSandboxIds, { before, limit: 1 }));
  return { events: newestFirst.reverse(), complete: older.length === 0 };
}

export interface TrajectoryContextInput {
  taskId: string;
  /** The task's prompt as stored (Task.description or title); else the first worker's reported preview. */
  taskPrompt?: string | null;
  /** The sandbox being replaced. */
  oldSandboxId: string;
  /** Why the supervisor restarts it (`missed_heartbeats`, …). */
  reason: string;
  /** Restarts of the task including this one. */
  restartCount: number;
  /** Trajectory events of the task's old sandboxes, ascending ids (as `readTrajectoryEvents` returns). */
  events: readonly EventEnvelope[];
}

export interface TrajectoryContextLimits extends StepLimits {
  /** Bound on the whole text in UTF-8 bytes (it travels in an env variable / a message body). */
  maxBytes: number;
  maxPromptChars: number;
  maxFiles: number;
  maxInterventions: number;
}

export const DEFAULT_TRAJECTORY_LIMITS: TrajectoryContextLimits = {
  maxBytes: 8 * 1024,
  maxPromptChars: 2_000,
  maxFiles: 30,
  maxInterventions: 5,
  maxStepChars: 400,
  maxErrorChars: 200,
};

export interface TrajectoryContext {
  text: string;
  bytes: number;
  /** Steps found in the events, and how many of the oldest were left out to fit `maxBytes`. */
  totalSteps: number;
  omittedSteps: number;
}

/**
 * The text a replacement worker starts with, so its agent continues the task rather than starting
 * over: the prompt, what the previous run did (newest steps kept), the files it touched and the
 * guardian's interventions. Deterministic plain text; the same events always give the same text.
 */
export function buildTrajectoryContext(
  input: TrajectoryContextInput,
  limits: Partial<TrajectoryContextLimits> = {},
): TrajectoryContext {
  const bounds = { ...DEFAULT_TRAJECTORY_LIMITS, ...limits };
  const digest = digestTrajectory(input.events, bounds);
  const prompt = input.taskPrompt?.trim() || digest.reportedPrompt || '(the original prompt was not recorded)';
  const head = [
    `You are resuming task ${input.taskId}. Its previous sandbox (${input.oldSandboxId}) was restarted by the supervisor: ${oneLine(input.reason, 200)}.`,
    `This is restart ${input.restartCount} of this task. Continue from where the previous run stopped; do not redo finished steps, and check the workspace before repeating a command.`,
    '',
    '## Original task',
    clip(prompt, bounds.maxPromptChars),
  ];
  const middle = [
    ...filesSection(digest.files, bounds.maxFiles),
    ...interventionsSection(digest.interventions, bounds.maxInterventions),
  ];
  const fixed = [...head, ...middle, '', '## What the previous run did (oldest first)'].join('\n');
  const { lines, omitted } = newestThatFit(digest.steps, bounds.maxBytes - utf8Bytes(fixed));
  const text = truncateUtf8([fixed, ...lines].join('\n'), bounds.maxBytes);
  return { text, bytes: utf8Bytes(text), totalSteps: digest.steps.length, omittedSteps: omitted };
}

/** The newest steps whose lines (plus the omission note) fit `budget` bytes, oldest first. */
function newestThatFit(steps: readonly string[], budget: number): { lines: string[]; omitted: number } {
  if (steps.length === 0) return { lines: ['(no steps were recorded)'], omitted: 0 };
  // Room for the note, sized for the largest count it could carry.
  const noteRoom = utf8Bytes(`\n…${steps.length} earlier steps omitted`);
  const kept: string[] = [];
  let used = 0;
  for (let index = steps.length - 1; index >= 0; index--) {
    const line = `- ${steps[index]}`;
    const size = utf8Bytes(line) + 1; // the newline before it
    const room = index > 0 ? budget - noteRoom : budget; // the note is needed unless every step fits
    if (used + size > room) break;
    kept.unshift(line);
    used += size;
  }
  const omitted = steps.length - kept.length;
  return { lines: omitted > 0 ? [`…${omitted} earlier steps omitted`, ...kept] : kept, omitted };
}

function filesSection(files: readonly EditedFile[], maxFiles: number): string[] {
  if (files.length === 0) return [];
  const shown = files.slice(-maxFiles);
  const lines = shown.map(
    (file) =>
      `- ${file.path}${file.created ? ' (created)' : ''}: ${file.edits} edit${file.edits === 1 ? '' : 's'}, +${file.additions} -${file.deletions}`,
  );
  const more = files.length - shown.length;
  return ['', '## Files edited (latest last)', ...(more > 0 ? [`…${more} more files`] : []), ...lines];
}

function interventionsSection(interventions: readonly string[], max: number): string[] {
  if (interventions.length === 0) return [];
  const shown = interventions.slice(-max);
  const more = interventions.length - shown.length;
  return [
    '',
    '## Guardian interventions',
    ...(more > 0 ? [`…${more} earlier interventions`] : []),
    ...shown.map((line) => `- ${line}`),
  ];
}
