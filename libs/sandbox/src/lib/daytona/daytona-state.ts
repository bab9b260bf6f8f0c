import type { SandboxStatus } from '../sandbox-provider';

/**
 * Daytona's sandbox states (api-client `SandboxState`, 0.218.0) folded into ours. Written as a
 * table so a state added by a newer API lands in `unknown` instead of being guessed.
 */
const STATE_TO_STATUS: Readonly<Record<string, SandboxStatus>> = {
  creating: 'starting',
  restoring: 'starting',
  starting: 'starting',
  pending_build: 'starting',
  building_snapshot: 'starting',
  pulling_snapshot: 'starting',
  resuming: 'starting',
  started: 'running',
  // These run on a started sandbox; the worker keeps running through them.
  resizing: 'running',
  snapshotting: 'running',
  forking: 'running',
  stopping: 'stopped',
  stopped: 'stopped',
  pausing: 'stopped',
  paused: 'stopped',
  archiving: 'stopped',
  archived: 'stopped',
  destroying: 'stopped',
  destroyed: 'stopped',
  error: 'failed',
  build_failed: 'failed',
};

export function statusFromDaytonaState(state: string | undefined): SandboxStatus {
  if (state === undefined) return 'unknown';
  return STATE_TO_STATUS[state] ?? 'unknown';
}
