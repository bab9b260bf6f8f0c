import type { Agent } from './agent/agent';
import { ClaudeAgent } from './agent/claude-agent';
import { ShellAgent } from './agent/shell-agent';
import { WorkerLoop, type WorkerOutcome } from './loop/worker-loop';
import { RelayClient, type WorkerRelay } from './relay/relay-client';
import { systemClock, type Clock } from './util/clock';
import type { WorkerLogger } from './util/logger';
import type { WorkerConfig } from './worker-env';

export interface AgentFactoryDeps {
  logger: WorkerLogger;
  /** Env for the processes the agent starts, secrets removed. */
  commandEnv: Record<string, string | undefined>;
}
export type AgentFactory = (config: WorkerConfig, deps: AgentFactoryDeps) => Agent;

export interface RunWorkerDeps {
  logger: WorkerLogger;
  /** Default: a `RelayClient` on `RELAY_URL` with the worker's token. */
  relay?: WorkerRelay;
  /** Default: `createAgent` (the adapter `AGENT` names). */
  agentFactory?: AgentFactory;
  clock?: Clock;
  /** Default: no variables at all; the entry point passes `commandEnvFrom(process.env)`. */
  commandEnv?: Record<string, string | undefined>;
  memoryRss?: () => number;
  /** Abort to stop the worker (SIGTERM): the turn is cut short, the outbox flushed, `runWorker` returns. */
  stopSignal?: AbortSignal;
  /** See `WorkerLoopDeps.turnAbortSlackMs`; tests shorten it. */
  turnAbortSlackMs?: number;
}

/** Variables the worker holds that the agent's commands must not see (a plan may echo its env). */
const SECRET_VARIABLES = ['RELAY_TOKEN', 'ANTHROPIC_API_KEY'];

/** The worker's own env minus its secrets: what plan commands run with. */
export function commandEnvFrom(source: Record<string, string | undefined>): Record<string, string | undefined> {
  const env = { ...source };
  for (const name of SECRET_VARIABLES) delete env[name];
  return env;
}

/** The adapter `AGENT` names (env parsing guarantees the API key `claude` needs). */
export const createAgent: AgentFactory = (config, { commandEnv, logger }) => {
  if (config.AGENT === 'claude' && config.ANTHROPIC_API_KEY !== undefined) {
    return new ClaudeAgent({
      workspaceDir: config.WORKSPACE_DIR,
      apiKey: config.ANTHROPIC_API_KEY,
      baseUrl: config.ANTHROPIC_BASE_URL,
      model: config.ANTHROPIC_MODEL,
      env: commandEnv,
      interruptGraceMs: config.KILL_GRACE_MS,
      onStderr: (line) => logger.debug({ claudeCode: line.trimEnd() }, 'claude code stderr'),
    });
  }
  return new ShellAgent({ workspaceDir: config.WORKSPACE_DIR, env: commandEnv, killGraceMs: config.KILL_GRACE_MS });
};

/**
 * Runs the worker until its task completes or `stopSignal` aborts: reports `agent.started`, runs the
 * initial turn, obeys messages, sends heartbeats, and flushes the outbox (bounded) before returning.
 */
export async function runWorker(config: WorkerConfig, deps: RunWorkerDeps): Promise<WorkerOutcome> {
  const clock = deps.clock ?? systemClock;
  const relay =
    deps.relay ??
    new RelayClient({
      baseUrl: config.RELAY_URL,
      sandboxId: config.SANDBOX_ID,
      token: config.RELAY_TOKEN,
      logger: deps.logger,
      outbox: { maxEvents: config.OUTBOX_MAX_EVENTS },
    });
  const commandEnv = deps.commandEnv ?? {};
  const agent = (deps.agentFactory ?? createAgent)(config, { logger: deps.logger, commandEnv });
  const loop = new WorkerLoop({
    config,
    agent,
    relay,
    clock,
    logger: deps.logger,
    memoryRss: deps.memoryRss ?? (() => process.memoryUsage.rss()),
    stopSignal: deps.stopSignal,
    turnAbortSlackMs: deps.turnAbortSlackMs,
  });
  try {
    return await loop.run();
  } finally {
    await agent.close?.();
  }
}
