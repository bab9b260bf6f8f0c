import { sandboxCallbackUrl } from '@sandbox-relay/auth';
import type { TaskSpec } from '@sandbox-relay/contracts';

export interface WorkerEnvInput {
  relayUrl: string;
  taskId: string;
  spec: TaskSpec;
  /** The supervisor's heartbeat interval: the worker beats at the cadence the ladder counts. */
  heartbeatIntervalMs: number;
  /** For a replacement: the trajectory context built from the event store. */
  context?: string;
  /** With auth on: the token scoped to this sandbox, issued at spawn. */
  token?: string;
}

/**
 * The one place a sandbox worker's env is built, for the first spawn and every restart. The
 * supervisor's own variables come last, so `worker_env` can tune the worker but never redirect it.
 * (`SANDBOX_ID`, `TASK_ID` and `WORKSPACE_DIR` are set by the provider on top of this.) `CALLBACK_URL`
 * holds the token when there is one: never log this env.
 */
export function workerEnvFor(input: WorkerEnvInput): Record<string, string> {
  const { spec } = input;
  const env: Record<string, string> = { ...(spec.worker_env ?? {}) };
  // The worker's relay credentials come from the supervisor alone (a sandbox token issued at spawn).
  delete env.RELAY_TOKEN;
  delete env.CALLBACK_URL;
  env.RELAY_URL = input.relayUrl;
  if (input.token !== undefined) env.RELAY_TOKEN = input.token;
  // The original system's worker (OmoiOS) reads CALLBACK_URL and AGENT_ID and sends no credentials:
  // its callback URL carries the sandbox's token as userinfo, which its HTTP client sends as Basic auth.
  env.CALLBACK_URL = input.token === undefined ? input.relayUrl : sandboxCallbackUrl(input.relayUrl, input.token);
  env.AGENT_ID = spec.agent_id;
  env.TASK_ID = input.taskId;
  env.AGENT = spec.agent;
  env.HEARTBEAT_INTERVAL_MS = String(input.heartbeatIntervalMs);
  delete env.TASK_PLAN;
  delete env.TASK_PROMPT;
  delete env.TASK_CONTEXT;
  if (spec.plan !== undefined) env.TASK_PLAN = JSON.stringify(spec.plan);
  if (spec.prompt !== undefined) env.TASK_PROMPT = spec.prompt;
  if (input.context !== undefined) env.TASK_CONTEXT = input.context;
  return env;
}
