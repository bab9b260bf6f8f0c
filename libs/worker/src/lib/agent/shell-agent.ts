import {
  AGENT_EVENT_TYPES,
  looksLikePlan,
  parsePlanJson,
  stepKind,
  type RunStep,
  type ShellStep,
} from '@sandbox-relay/contracts';
import type { Agent, SteeringNote, TurnContext, TurnInput, TurnResult } from './agent';
import { resolveInWorkspace, writeWorkspaceFile } from './file-edit';
import { runProcess } from './process-runner';
import { delay } from '../util/delay';
import { errorMessage, preview } from '../util/text';

export interface ShellAgentOptions {
  workspaceDir: string;
  /** Env of plan commands. The composition root removes the worker's secrets from it. */
  env: Record<string, string | undefined>;
  /** Between SIGTERM and SIGKILL of an interrupted command (default 2 s). */
  killGraceMs?: number;
  /** Bytes of the end of stdout and of stderr reported per command (default 4 KiB each). */
  tailBytes?: number;
}

/**
 * A deterministic agent: it runs JSON plans of real commands, file writes and messages in the
 * workspace (see the contracts' shell-plan.schema.ts for the format). Plain-text input is acknowledged with an
 * `agent.message` and nothing runs. Guardian steering is recorded (`steeringNotes`) but cannot change
 * a plan: a plan is the whole of this agent's reasoning.
 */
export class ShellAgent implements Agent {
  readonly kind = 'shell';
  private readonly notes: SteeringNote[] = [];
  private readonly killGraceMs: number;
  private readonly tailBytes: number;

  constructor(private readonly options: ShellAgentOptions) {
    this.killGraceMs = options.killGraceMs ?? 2_000;
    this.tailBytes = options.tailBytes ?? 4_096;
  }

  /** Steering received so far, oldest first. */
  get steeringNotes(): readonly SteeringNote[] {
    return this.notes;
  }

  steer(note: SteeringNote): void {
    this.notes.push(note);
  }

  async runTurn(input: TurnInput, context: TurnContext): Promise<TurnResult> {
    if (!looksLikePlan(input.content)) {
      context.emit(AGENT_EVENT_TYPES.MESSAGE, {
        role: 'assistant',
        content:
          'The shell agent runs JSON plans only (e.g. [{"run": "npm test"}]); this text was noted, nothing was run.',
        received: preview(input.content, 500),
        in_reply_to: input.messageId ?? null,
      });
      return {};
    }
    const parsed = parsePlanJson(input.content);
    if (!parsed.ok) {
      context.emit(AGENT_EVENT_TYPES.ERROR, {
        message: `invalid plan: ${parsed.error}`,
        fatal: false,
        in_reply_to: input.messageId ?? null,
      });
      return {};
    }
    const { steps, stop_on_failure, complete_when_done } = parsed.plan;
    for (const [index, step] of steps.entries()) {
      if (context.signal.aborted) return {};
      const succeeded = await this.runStep(step, index, context);
      const forgiven = 'run' in step && step.continue_on_error === true;
      if (!succeeded && !forgiven && stop_on_failure && !context.signal.aborted) {
        context.emit(AGENT_EVENT_TYPES.MESSAGE, {
          role: 'assistant',
          content: `Stopped the plan: step ${index + 1} (${stepKind(step)}) failed; ${steps.length - index - 1} step(s) not run.`,
        });
        return {};
      }
    }
    return { taskComplete: complete_when_done && !context.signal.aborted };
  }

  /** Runs one step; false when it failed. */
  private async runStep(step: ShellStep, index: number, context: TurnContext): Promise<boolean> {
    if ('run' in step) return this.runCommand(step, index, context);
    if ('write' in step) return this.writeFile(step.write.path, step.write.content, index, context);
    if ('say' in step) context.emit(AGENT_EVENT_TYPES.MESSAGE, { role: 'assistant', content: step.say, step: index });
    else if ('think' in step) context.emit(AGENT_EVENT_TYPES.THINKING, { content: step.think, step: index });
    else await delay(step.sleep_ms, context.signal);
    return true;
  }

  private async runCommand(step: RunStep, index: number, context: TurnContext): Promise<boolean> {
    const tool = typeof step.run === 'string' ? 'bash' : 'exec';
    const input = typeof step.run === 'string' ? { command: step.run } : { argv: step.run };
    const callId = `turn${context.turn}-step${index}`;
    context.emit(AGENT_EVENT_TYPES.TOOL_USE, { tool, input, call_id: callId, step: index });
    let cwd: string;
    try {
      cwd = resolveInWorkspace(this.options.workspaceDir, step.cwd ?? '.', true).absolute;
    } catch (error) {
      context.emit(AGENT_EVENT_TYPES.TOOL_COMPLETED, {
        tool,
        call_id: callId,
        step: index,
        success: false,
        error: errorMessage(error),
      });
      return false;
    }
    const result = await runProcess({
      command: step.run,
      cwd,
      env: this.options.env,
      signal: context.signal,
      timeoutMs: step.timeout_ms,
      killGraceMs: this.killGraceMs,
      tailBytes: this.tailBytes,
    });
    const success = result.exitCode === 0 && !result.timedOut && !result.aborted && result.spawnError === undefined;
    const error =
      result.spawnError ??
      (result.timedOut ? `timed out after ${step.timeout_ms} ms` : result.aborted ? 'interrupted' : undefined);
    context.emit(AGENT_EVENT_TYPES.TOOL_COMPLETED, {
      tool,
      call_id: callId,
      step: index,
      success,
      exit_code: result.exitCode,
      signal: result.signal,
      duration_ms: result.durationMs,
      stdout: result.stdout.text,
      stderr: result.stderr.text,
      stdout_truncated: result.stdout.truncated,
      stderr_truncated: result.stderr.truncated,
      ...(result.timedOut ? { timed_out: true } : {}),
      ...(result.aborted ? { interrupted: true } : {}),
      ...(error !== undefined ? { error } : {}),
    });
    return success;
  }

  private async writeFile(path: string, content: string, index: number, context: TurnContext): Promise<boolean> {
    try {
      const edit = await writeWorkspaceFile(this.options.workspaceDir, path, content);
      context.emit(AGENT_EVENT_TYPES.FILE_EDITED, { ...edit, step: index });
      return true;
    } catch (error) {
      context.emit(AGENT_EVENT_TYPES.ERROR, {
        message: `write ${path} failed: ${errorMessage(error)}`,
        fatal: false,
        step: index,
      });
      return false;
    }
  }
}
