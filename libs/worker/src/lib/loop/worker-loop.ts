import { AGENT_EVENT_TYPES, EVENT_SOURCES, type SandboxMessage } from '@sandbox-relay/contracts';
import type { Agent, AgentEmit, TurnInput } from '../agent/agent';
import type { WorkerRelay } from '../relay/relay-client';
import type { Clock } from '../util/clock';
import type { WorkerLogger } from '../util/logger';
import { errorMessage, preview } from '../util/text';
import { Wakeup } from '../util/wakeup';
import type { WorkerConfig } from '../worker-env';
import { startHeartbeat, type WorkerStatus } from './heartbeat';
import { isSteering, orderForHandling } from './message-order';

export interface WorkerLoopDeps {
  config: WorkerConfig;
  agent: Agent;
  relay: WorkerRelay;
  clock: Clock;
  logger: WorkerLogger;
  memoryRss: () => number;
  /** Aborted on SIGTERM: the current turn is cut short and the worker flushes and returns. */
  stopSignal?: AbortSignal;
  /** How long past the kill grace an aborted turn may take before the loop stops waiting (2 s). */
  turnAbortSlackMs?: number;
}

/** Why `run` returned: the task finished, the worker was told to stop, or the loop itself broke. */
export interface WorkerOutcome {
  reason: 'completed' | 'stopped' | 'failed';
  /** Whether every event reached the relay before the flush deadline. */
  flushed: boolean;
}

type TurnEnd = 'done' | 'complete' | 'interrupted' | 'failed' | 'stopped';

/**
 * The worker's main loop: one turn at a time, messages polled on their own cadence during turns
 * and while idle. An `interrupt` aborts the running turn; guardian steering (`guardian_intervention`,
 * or the original system's `guardian_nudge`) is reported and handed to the agent at once; `user_message`s queue up as the next turns, in order.
 */
export class WorkerLoop {
  private status: WorkerStatus = 'starting';
  private currentAction: string | null = null;
  private turn = 0;
  private readonly pending: TurnInput[] = [];
  private active: { controller: AbortController; interrupt?: SandboxMessage } | null = null;
  private readonly stopping = new AbortController();
  private readonly work = new Wakeup();
  private pollNow = new AbortController();

  constructor(private readonly deps: WorkerLoopDeps) {}

  async run(): Promise<WorkerOutcome> {
    const { config, relay, clock } = this.deps;
    const onStop = () => this.stop();
    this.deps.stopSignal?.addEventListener('abort', onStop, { once: true });
    if (this.deps.stopSignal?.aborted) this.stop();
    this.reportStarted();
    const heartbeat = startHeartbeat({
      relay,
      clock,
      intervalMs: config.HEARTBEAT_INTERVAL_MS,
      taskId: config.TASK_ID,
      memoryRss: this.deps.memoryRss,
      snapshot: () => ({ status: this.status, currentAction: this.currentAction, turn: this.turn }),
    });
    const poller = this.pollLoop();
    let reason: WorkerOutcome['reason'];
    try {
      reason = (await this.turnLoop()) ? 'completed' : 'stopped';
    } catch (error) {
      // A bug in the loop, not in a turn (turn errors are reported and survived in runTurn).
      this.deps.logger.error({ err: error }, 'worker loop failed');
      this.report(AGENT_EVENT_TYPES.ERROR, { message: errorMessage(error), fatal: true, turn: this.turn });
      reason = 'failed';
    }
    this.stop();
    await poller;
    heartbeat.stop();
    heartbeat.beat();
    this.deps.stopSignal?.removeEventListener('abort', onStop);
    const flushed = await relay.flush(config.SHUTDOWN_FLUSH_MS);
    relay.close();
    return { reason, flushed };
  }

  /** Asks the loop to end: aborts the running turn and wakes whatever waits. Idempotent. */
  stop(): void {
    if (this.stopping.signal.aborted) return;
    this.status = this.status === 'completed' ? 'completed' : 'stopping';
    this.stopping.abort();
    this.pollNow.abort();
    this.active?.controller.abort();
    this.work.notify();
  }

  /** Runs turns until the task completes (true) or the worker is stopped (false). */
  private async turnLoop(): Promise<boolean> {
    const { TASK_PLAN, TASK_PROMPT } = this.deps.config;
    const initial = TASK_PLAN ?? TASK_PROMPT;
    if (initial !== undefined) this.pending.push({ source: 'task', content: initial });
    else this.reportWaiting('no_task_input');
    // A replacement worker's resume context goes with whatever its first turn is.
    let context = this.deps.config.TASK_CONTEXT;
    while (!this.stopping.signal.aborted) {
      let input = this.pending.shift();
      if (input !== undefined && context !== undefined) {
        input = { ...input, context };
        context = undefined;
      }
      if (input === undefined) {
        this.status = 'idle';
        this.currentAction = 'waiting for messages';
        await this.work.wait();
        continue;
      }
      const end = await this.runTurn(input);
      if (end === 'stopped') break;
      if (end === 'complete') {
        this.status = 'completed';
        this.currentAction = null;
        this.report(AGENT_EVENT_TYPES.COMPLETED, { task_id: this.deps.config.TASK_ID, turns: this.turn });
        return true;
      }
      if (end === 'interrupted' || this.pending.length === 0)
        this.reportWaiting(end === 'done' ? 'turn_finished' : end === 'failed' ? 'turn_failed' : end);
      // The checklist's "poll after each agent turn": do not wait out the poll interval.
      this.pollNow.abort();
    }
    return false;
  }

  private async runTurn(input: TurnInput): Promise<TurnEnd> {
    this.turn += 1;
    const turn = this.turn;
    this.status = 'running';
    this.currentAction = `turn ${turn}`;
    const controller = new AbortController();
    const active: { controller: AbortController; interrupt?: SandboxMessage } = { controller };
    this.active = active;
    try {
      const result = await this.untilSettledOrAbandoned(
        this.deps.agent.runTurn(input, { signal: controller.signal, emit: this.agentEmit(turn), turn }),
        controller.signal,
      );
      if (!controller.signal.aborted) return result?.taskComplete ? 'complete' : 'done';
    } catch (error) {
      if (!controller.signal.aborted) {
        this.deps.logger.warn({ err: error, turn }, 'turn failed');
        this.report(AGENT_EVENT_TYPES.ERROR, { message: errorMessage(error), fatal: false, turn });
        return 'failed';
      }
    } finally {
      this.active = null;
    }
    if (this.stopping.signal.aborted && active.interrupt === undefined) return 'stopped';
    const message = active.interrupt;
    this.report(AGENT_EVENT_TYPES.INTERRUPTED, {
      turn,
      during: 'turn',
      message_id: message?.message_id ?? null,
      reason: message ? preview(message.content, 500) : 'worker stopping',
    });
    return this.stopping.signal.aborted ? 'stopped' : 'interrupted';
  }

  /**
   * The turn's own promise, or, once it was aborted, at most the kill grace plus some slack more:
   * an adapter that ignores its signal must not keep the worker from obeying the interrupt.
   */
  private untilSettledOrAbandoned<T>(turn: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
    const graceMs = this.deps.config.KILL_GRACE_MS + (this.deps.turnAbortSlackMs ?? 2_000);
    let timer: NodeJS.Timeout | undefined;
    const abandoned = new Promise<undefined>((resolve) => {
      const arm = () => {
        timer = setTimeout(() => {
          this.deps.logger.warn({ graceMs }, 'agent did not return after an interrupt; moving on without it');
          resolve(undefined);
        }, graceMs);
      };
      if (signal.aborted) arm();
      else signal.addEventListener('abort', arm, { once: true });
    });
    return Promise.race([turn, abandoned]).finally(() => clearTimeout(timer));
  }

  /** The agent's `emit`: reports as `agent` and keeps the heartbeat's `current_action` current. */
  private agentEmit(turn: number): AgentEmit {
    return (type, data) => {
      if (type === AGENT_EVENT_TYPES.TOOL_USE) this.currentAction = describeCall(data);
      else if (type === AGENT_EVENT_TYPES.TOOL_COMPLETED) this.currentAction = `turn ${turn}`;
      this.deps.relay.emit(type, data, EVENT_SOURCES.AGENT);
    };
  }

  private async pollLoop(): Promise<void> {
    const { relay, clock, config, logger } = this.deps;
    // Stopping does not wait for a poll in flight: a relay sitting on the GET (up to its timeout, twice
    // when recovering) would eat the stop grace before the outbox flush. What it drains is dropped,
    // as messages arriving while stopping are anyway.
    const stopped = new Promise<null>((resolve) => {
      if (this.stopping.signal.aborted) resolve(null);
      else this.stopping.signal.addEventListener('abort', () => resolve(null), { once: true });
    });
    while (!this.stopping.signal.aborted) {
      const poll = relay.pollMessages().catch((error: unknown) => {
        logger.warn({ err: error }, 'message poll threw');
        return null;
      });
      const messages = await Promise.race([poll, stopped]);
      if (messages && messages.length > 0) this.handleMessages(messages);
      // One controller cut short by both "poll now" and stop(): no AbortSignal.any per poll, whose
      // composite signals pile up on the long-lived stop signal in some Node 20 releases.
      if (!this.pollNow.signal.aborted) await clock.sleep(config.POLL_INTERVAL_MS, this.pollNow.signal);
      if (!this.stopping.signal.aborted) this.pollNow = new AbortController();
    }
  }

  /** Interrupts, then guardian steering, then system notes, then user messages (each in relay order). */
  private handleMessages(messages: SandboxMessage[]): void {
    if (this.stopping.signal.aborted) {
      // Drained but unhandled: the relay marked them delivered. Rare (a poll racing a SIGTERM); logged.
      this.deps.logger.warn(
        { messageIds: messages.map((m) => m.message_id) },
        'messages arrived while stopping; not handled',
      );
      return;
    }
    for (const message of orderForHandling(messages)) {
      this.deps.logger.info({ messageId: message.message_id, messageType: message.message_type }, 'message received');
      if (message.message_type === 'interrupt') this.interrupt(message);
      else if (isSteering(message.message_type)) this.steer(message);
      else if (message.message_type === 'system') {
        this.report(AGENT_EVENT_TYPES.MESSAGE, {
          role: 'system',
          content: message.content,
          message_id: message.message_id,
        });
      } else {
        this.pending.push({ source: 'user_message', content: message.content, messageId: message.message_id });
        this.work.notify();
      }
    }
  }

  private interrupt(message: SandboxMessage): void {
    if (this.active && !this.active.controller.signal.aborted) {
      this.active.interrupt = message;
      this.active.controller.abort();
      return;
    }
    // Nothing to stop; still answered, so whoever sent it sees the worker obeyed.
    this.report(AGENT_EVENT_TYPES.INTERRUPTED, {
      turn: null,
      during: 'idle',
      message_id: message.message_id,
      reason: preview(message.content, 500),
    });
    this.reportWaiting('interrupted');
  }

  private steer(message: SandboxMessage): void {
    this.report(AGENT_EVENT_TYPES.MESSAGE, {
      role: 'system',
      kind: 'steering',
      from: 'guardian',
      content: message.content,
      message_id: message.message_id,
    });
    this.deps.agent.steer({
      content: message.content,
      messageId: message.message_id,
      receivedAt: new Date(this.deps.clock.now()).toISOString(),
    });
  }

  private reportStarted(): void {
    const { config } = this.deps;
    this.report(AGENT_EVENT_TYPES.STARTED, {
      task_id: config.TASK_ID,
      sandbox_id: config.SANDBOX_ID,
      agent: this.deps.agent.kind,
      workspace_dir: config.WORKSPACE_DIR,
      has_plan: config.TASK_PLAN !== undefined,
      prompt_preview: config.TASK_PROMPT === undefined ? null : preview(config.TASK_PROMPT, 500),
      resumed: config.TASK_CONTEXT !== undefined,
      context_bytes: config.TASK_CONTEXT === undefined ? 0 : Buffer.byteLength(config.TASK_CONTEXT),
      pid: process.pid,
    });
  }

  private reportWaiting(reason: string): void {
    this.report(AGENT_EVENT_TYPES.WAITING, { reason, turn: this.turn, pending_messages: this.pending.length });
  }

  private report(type: string, data: Record<string, unknown>): void {
    this.deps.relay.emit(type, data, EVENT_SOURCES.WORKER);
  }
}

/** `bash: npm test` — what the heartbeat says the agent is doing. */
function describeCall(data: Record<string, unknown>): string {
  const tool = typeof data.tool === 'string' ? data.tool : 'tool';
  const input = data.input as Record<string, unknown> | undefined;
  const detail = input?.command ?? (Array.isArray(input?.argv) ? input.argv.join(' ') : (input?.path ?? ''));
  return preview(`${tool}: ${String(detail)}`, 200);
}
