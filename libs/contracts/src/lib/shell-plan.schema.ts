import { z } from 'zod';

/**
 * The shell agent's plan format: what a task's `plan` (TASK_PLAN) and a plan message hold. The worker
 * runs it; the supervisor's task edge checks it before spawning, so it is a wire shape both read.
 * A plan is a JSON array of steps, or an object
 * `{ steps, complete_when_done?, stop_on_failure? }`. Each step is an object with exactly one kind key:
 *
 * - `{"run": "npm test"}` runs a shell command (`sh -c`); `{"run": ["node", "-e", "…"]}` runs argv without
 *   a shell. Options: `timeout_ms`, `continue_on_error` (default false), `cwd` (inside the workspace).
 * - `{"write": {"path": "src/a.ts", "content": "…"}}` writes a file in the workspace (creating folders)
 *   and reports the edit as a unified diff.
 * - `{"say": "text"}` reports an assistant message; `{"think": "text"}` reports a thinking step.
 * - `{"sleep_ms": 500}` waits, interruptibly (handy for demos and tests of interrupts).
 *
 * `complete_when_done: true` ends the task (`agent.completed`, then the worker exits) once every step
 * succeeded; the default `false` keeps the session interactive: the worker waits for the next message.
 * `stop_on_failure` (default true) ends the turn at the first failed `run` step, like `set -e`.
 */

const RunStep = z
  .object({
    run: z.union([z.string().trim().min(1), z.array(z.string()).min(1)]),
    timeout_ms: z.number().int().positive().optional(),
    continue_on_error: z.boolean().optional(),
    cwd: z.string().min(1).optional(),
  })
  .strict();
const WriteStep = z.object({ write: z.object({ path: z.string().min(1), content: z.string() }).strict() }).strict();
const SayStep = z.object({ say: z.string().min(1) }).strict();
const ThinkStep = z.object({ think: z.string().min(1) }).strict();
/** A day at most: a longer sleep in a plan is a typo, not a plan. */
const SleepStep = z.object({ sleep_ms: z.number().int().min(0).max(86_400_000) }).strict();

const STEP_SCHEMAS = { run: RunStep, write: WriteStep, say: SayStep, think: ThinkStep, sleep_ms: SleepStep } as const;
type StepKind = keyof typeof STEP_SCHEMAS;
const STEP_KINDS = Object.keys(STEP_SCHEMAS) as StepKind[];

export type RunStep = z.infer<typeof RunStep>;
export type WriteStep = z.infer<typeof WriteStep>;
export type ShellStep =
  RunStep | WriteStep | z.infer<typeof SayStep> | z.infer<typeof ThinkStep> | z.infer<typeof SleepStep>;

export interface ShellPlan {
  steps: ShellStep[];
  complete_when_done: boolean;
  stop_on_failure: boolean;
}

const PlanOptions = z
  .object({
    steps: z.array(z.unknown()),
    complete_when_done: z.boolean().default(false),
    stop_on_failure: z.boolean().default(true),
  })
  .strict();

export type PlanParse = { ok: true; plan: ShellPlan } | { ok: false; error: string };

function describe(error: z.ZodError, where: string): string {
  return error.issues.map((issue) => `${[where, ...issue.path].join('.')}: ${issue.message}`).join('; ');
}

/** One step, with a message naming the step when it is not one of the known kinds. */
function parseStep(value: unknown, index: number): ShellStep | string {
  const where = `steps[${index}]`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${where}: must be an object`;
  const kinds = STEP_KINDS.filter((kind) => kind in value);
  if (kinds.length !== 1) {
    return `${where}: must have exactly one of ${STEP_KINDS.join(', ')} (found ${kinds.length ? kinds.join(', ') : 'none'})`;
  }
  const result = STEP_SCHEMAS[kinds[0] as StepKind].safeParse(value);
  return result.success ? result.data : describe(result.error, where);
}

/** Checks an already-decoded plan (an array of steps or the object form). */
export function parsePlan(value: unknown): PlanParse {
  const options = Array.isArray(value) ? PlanOptions.safeParse({ steps: value }) : PlanOptions.safeParse(value);
  if (!options.success) return { ok: false, error: describe(options.error, 'plan') };
  const steps: ShellStep[] = [];
  for (const [index, raw] of options.data.steps.entries()) {
    const step = parseStep(raw, index);
    if (typeof step === 'string') return { ok: false, error: step };
    steps.push(step);
  }
  return { ok: true, plan: { ...options.data, steps } };
}

/** Decodes and checks plan text (TASK_PLAN, or a message's content). */
export function parsePlanJson(text: string): PlanParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not valid JSON (${(error as Error).message})` };
  }
  return parsePlan(value);
}

/**
 * Whether message text is meant as a plan: JSON that decodes to an array or an object. Text that is
 * not JSON is a plain message the shell agent acknowledges instead of running.
 */
export function looksLikePlan(text: string): boolean {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value !== null && typeof value === 'object';
  } catch {
    return false;
  }
}

/** The step's kind, for event payloads and the heartbeat's `current_action`. */
export function stepKind(step: ShellStep): StepKind {
  return STEP_KINDS.find((kind) => kind in step) as StepKind;
}
