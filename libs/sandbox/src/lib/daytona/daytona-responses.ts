import { z } from 'zod';
import { SandboxProviderError, type SandboxOperation } from '../sandbox-errors';

/**
 * The SDK hands API answers through untyped-at-runtime (`response.data`), so the fields we act on
 * are checked here. Shapes follow @daytona/api-client and @daytona/toolbox-api-client 0.218.0.
 */
export const CreatedSandbox = z.object({
  id: z.string().min(1),
  state: z.literal('started'),
});

/** `GET /work-dir` on the toolbox: where relative paths land. */
export const WorkDir = z.string().startsWith('/');

/** `POST /process/session/{id}/exec` with runAsync: the command id is all we get back. */
export const AsyncCommand = z.object({ cmdId: z.string().min(1) });

/** `GET /process/session/{id}`. */
export const WorkerSession = z.object({
  sessionId: z.string(),
  commands: z.array(z.object({ id: z.string().min(1), command: z.string() })).nullable(),
});

/** `GET /process/session/{id}/command/{cmd}/logs`; the SDK defaults missing fields to ''. */
export const CommandLogs = z.object({ output: z.string(), stdout: z.string(), stderr: z.string() });

export function validateUpstream<T>(
  schema: z.ZodType<T>,
  value: unknown,
  what: string,
  operation: SandboxOperation,
  sandboxId?: string,
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
  throw new SandboxProviderError({
    code: 'invalid_response',
    message: `daytona answered ${what} with an unexpected shape (${issues})`,
    provider: 'daytona',
    operation,
    retryable: false,
    sandboxId,
  });
}
