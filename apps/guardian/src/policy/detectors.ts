import { AGENT_EVENT_TYPES } from '@sandbox-relay/contracts';
import type { TrajectoryView } from '../history/trajectory';

export const DETECTORS = { STUCK: 'stuck', LOOPING: 'looping', ERROR_STORM: 'error_storm' } as const;
export type DetectorName = (typeof DETECTORS)[keyof typeof DETECTORS];

/** A detector's decision that an agent needs steering. */
export interface Finding {
  detector: DetectorName;
  /** Short, for logs and dashboards: what was observed. */
  reason: string;
  /** The intervention text, addressed to the agent: what we saw, with numbers, and what to do instead. */
  message: string;
}

export interface DetectorThresholds {
  /** No progress (any event but a heartbeat) for this long while not waiting for a human. */
  stuckAfterMs: number;
  /** This many identical tool calls in a row. */
  loopingAt: number;
  /** This many failed tool results (or non-fatal agent errors) in a row. */
  errorStormAt: number;
}

export const DEFAULT_THRESHOLDS: DetectorThresholds = {
  stuckAfterMs: 5 * 60_000,
  loopingAt: 3,
  errorStormAt: 5,
};

export interface KeyedFinding {
  key: string;
  finding: Finding;
}

export function detectLooping(trajectory: TrajectoryView, thresholds: DetectorThresholds): Finding | null {
  const repeat = trajectory.repeat;
  if (!repeat || repeat.count < thresholds.loopingAt) return null;
  const { tool, summary } = repeat.call;
  return {
    detector: DETECTORS.LOOPING,
    reason: `same ${tool} call ${repeat.count} times in a row (${summary})`,
    message:
      `You have run \`${tool}\` with the same arguments ${repeat.count} times in a row (${summary}). ` +
      'Repeating it will not give a different result. Stop repeating it: read the output you already have, ' +
      'work out why it does not get you closer to the goal, and change the approach (fix the cause, inspect ' +
      'the file or error it points at, or use a different tool). If you are blocked, say what you need.',
  };
}

export function detectErrorStorm(trajectory: TrajectoryView, thresholds: DetectorThresholds): Finding | null {
  const { count, tools, lastError } = trajectory.failures;
  if (count < thresholds.errorStormAt) return null;
  const which = tally(tools);
  const latest = lastError ? ` The latest error: "${lastError}".` : '';
  return {
    detector: DETECTORS.ERROR_STORM,
    reason: `${count} failures in a row (${which})`,
    message:
      `Your last ${count} attempts failed in a row (${which}).${latest} ` +
      'Stop and diagnose before the next call: read the error messages, check paths, arguments, permissions ' +
      'and the environment, and fix the root cause instead of retrying variations of the same thing.',
  };
}

export function detectStuck(trajectory: TrajectoryView, now: number, thresholds: DetectorThresholds): Finding | null {
  // Waiting for a human is not being stuck, however long the human takes.
  if (trajectory.waitingSince !== null) return null;
  const silentFor = now - trajectory.lastProgressAt;
  if (silentFor < thresholds.stuckAfterMs) return null;
  const activity = describeActivity(trajectory);
  const duration = formatDuration(silentFor);
  return {
    detector: DETECTORS.STUCK,
    reason: `no progress for ${duration} (last: ${activity})`,
    message:
      `You have made no progress for ${duration} (last activity: ${activity}). ` +
      'If a command is hanging, stop it and run it again with a timeout or in the background. Otherwise ' +
      'continue with the next step of your task, or say clearly what is blocking you.',
  };
}

/**
 * The detectors that one event can trigger: looping after a tool call, an error storm after a failure.
 * Stuck is the absence of events, so only the periodic `sweep` finds it.
 */
export function detectOnEvent(
  trajectory: TrajectoryView,
  eventType: string,
  thresholds: DetectorThresholds,
): Finding[] {
  const found: Array<Finding | null> = [];
  if (eventType === AGENT_EVENT_TYPES.TOOL_USE) found.push(detectLooping(trajectory, thresholds));
  if (eventType === AGENT_EVENT_TYPES.TOOL_COMPLETED || eventType === AGENT_EVENT_TYPES.ERROR) {
    found.push(detectErrorStorm(trajectory, thresholds));
  }
  return found.filter((finding): finding is Finding => finding !== null);
}

/** Periodic pass over every trajectory: which keys are stuck at `now`. */
export function sweep(
  trajectories: Iterable<TrajectoryView>,
  now: number,
  thresholds: DetectorThresholds,
): KeyedFinding[] {
  const findings: KeyedFinding[] = [];
  for (const trajectory of trajectories) {
    const finding = detectStuck(trajectory, now, thresholds);
    if (finding) findings.push({ key: trajectory.key, finding });
  }
  return findings;
}

function describeActivity(trajectory: TrajectoryView): string {
  const activity = trajectory.lastActivity;
  if (!activity) return 'none since tracking started';
  if (activity.call) return `\`${activity.call.tool}\` (${activity.call.summary})`;
  return `\`${activity.eventType}\``;
}

/** `bash ×3, edit ×2`, most frequent first. */
function tally(tools: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const tool of tools) counts.set(tool, (counts.get(tool) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([tool, count]) => `\`${tool}\` ×${count}`)
    .join(', ');
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1_000);
  if (seconds < 90) return plural(seconds, 'second');
  const minutes = Math.round(ms / 60_000);
  if (minutes < 90) return plural(minutes, 'minute');
  return plural(Math.round(ms / 3_600_000), 'hour');
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
