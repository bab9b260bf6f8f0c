import {
  NON_AGENT_EVENT_SOURCES,
  SUPERVISOR_EVENT_TYPES,
  TASK_LIFECYCLE_EVENT_TYPE_LIST,
  type TaskStatus,
  type TaskStatusMoveData,
} from '@sandbox-relay/contracts';
import { withStoreErrors } from '@sandbox-relay/store';
import type { PoolClient } from 'pg';
import type { SweptSession } from '../session-store';
import type { SupervisorContext } from '../supervisor-deps';
import { taskEffectOf, type TaskEffect } from './task-effects';

/** Most events of one sandbox one sweep reads past its cursor; the rest wait for the next sweep. */
const EVENTS_PER_SWEEP = 1_000;

interface NewEventsRow {
  sandbox_id: string;
  scanned_to: string;
  events: { id: string; event_type: string; data: Record<string, unknown> }[];
}

/*
 * Each session's events past its cursor, through the (entity_id, id) index and bounded, so a sweep
 * costs what arrived since the last one. Only the task's lifecycle events come back in full; the rest
 * only move the cursor. Ids of one sandbox commit in order (the event log locks per entity), so a
 * cursor never skips an event committed later.
 */
const NEW_EVENTS_SQL = `
SELECT v.sandbox_id, max(e.id)::text AS scanned_to,
  coalesce(jsonb_agg(jsonb_build_object('id', e.id::text, 'event_type', e.event_type, 'data', e.data) ORDER BY e.id)
    FILTER (WHERE e.entity_type = 'sandbox' AND e.event_type = ANY($3::text[]) AND coalesce(e.source, '') <> ALL($4::text[])), '[]'::jsonb) AS events
FROM unnest($1::text[], $2::bigint[]) AS v(sandbox_id, cursor)
JOIN LATERAL (
  SELECT id, entity_type, event_type, data, source FROM sandbox_events
  WHERE entity_id = v.sandbox_id AND id > v.cursor ORDER BY id LIMIT $5
) e ON true
GROUP BY v.sandbox_id`;

/** A task status move that happened. */
export interface TaskMove {
  from: TaskStatus;
  to: TaskStatus;
}

/**
 * Applies what workers report about their task (`agent.started`, `agent.completed`, `agent.error`, …,
 * `task-complete`) as the original's sandbox endpoint does, once each: the status by compare-and-set,
 * the cost by an addition that commits with a `task_event_effects` row keyed by the event's id. Two
 * replicas sweeping the same events, or one reading them again after a crash, add each cost once.
 */
export class TaskEvents {
  constructor(private readonly ctx: SupervisorContext) {}

  /** Reads the swept sessions' new events, applies their effects, moves their cursors. */
  async applyNew(sessions: readonly SweptSession[]): Promise<number> {
    const watched = sessions.filter((session) => session.taskId !== null);
    if (watched.length === 0) return 0;
    const { rows } = await withStoreErrors(
      this.ctx.store.pool.query<NewEventsRow>(NEW_EVENTS_SQL, [
        watched.map((s) => s.sandboxId),
        watched.map((s) => s.taskEventsCursor),
        TASK_LIFECYCLE_EVENT_TYPE_LIST,
        NON_AGENT_EVENT_SOURCES,
        EVENTS_PER_SWEEP,
      ]),
    );
    const bySandbox = new Map(watched.map((session) => [session.sandboxId, session]));
    const advanced: { sandboxId: string; cursor: string }[] = [];
    let applied = 0;
    for (const row of rows) {
      const session = bySandbox.get(row.sandbox_id);
      if (!session?.taskId) continue;
      for (const event of row.events) {
        const effect = taskEffectOf(event.event_type, event.data);
        if (!effect) continue;
        // An event naming another task (the original's workers send their TASK_ID) changes nothing: a
        // sandbox reports on its own task only.
        const named = event.data['task_id'];
        if (typeof named === 'string' && named !== '' && named !== session.taskId) {
          this.ctx.log.warn(
            { sandboxId: session.sandboxId, taskId: session.taskId, named, eventId: event.id },
            "an event names another task than its sandbox's; ignored",
          );
          continue;
        }
        if (await this.applyEvent(session.taskId, session.sandboxId, event.id, event.event_type, effect)) applied++;
      }
      advanced.push({ sandboxId: row.sandbox_id, cursor: row.scanned_to });
    }
    await this.advance(advanced);
    return applied;
  }

  /** One stored event's effect, at most once (keyed by its id); emits the task's event when its status moved. */
  async applyEvent(
    taskId: string,
    sandboxId: string,
    eventId: string,
    eventType: string,
    effect: TaskEffect,
  ): Promise<boolean> {
    const outcome = await this.transaction(async (client) => {
      const first = await client.query(
        `INSERT INTO task_event_effects (event_id, task_id, event_type) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING`,
        [eventId, taskId, eventType],
      );
      if (first.rowCount === 0) return null;
      if (effect.usage) {
        const { costUsd, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens } = effect.usage;
        await client.query(
          `UPDATE tasks SET cost_usd = cost_usd + $2, input_tokens = input_tokens + $3, output_tokens = output_tokens + $4,
             cache_read_tokens = cache_read_tokens + $5, cache_write_tokens = cache_write_tokens + $6 WHERE id = $1`,
          [taskId, costUsd, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens],
        );
      }
      return { move: await moveStatus(client, taskId, sandboxId, effect, null) };
    });
    if (!outcome) return false;
    if (outcome.move)
      await this.announce(taskId, sandboxId, outcome.move, {
        cause: eventType,
        event_id: eventId,
        error_message: effect.errorMessage,
      });
    return true;
  }

  /**
   * A report not stored as an event (`task-complete`): the status by compare-and-set, plus what it
   * keeps on the task. Null when nothing moved (already there, or ended): repeating it is harmless.
   */
  async applyReport(
    taskId: string,
    sandboxId: string,
    effect: TaskEffect,
    result: Record<string, unknown> | null,
  ): Promise<TaskMove | null> {
    const move = await this.transaction((client) => moveStatus(client, taskId, sandboxId, effect, result));
    if (move)
      await this.announce(taskId, sandboxId, move, {
        cause: 'task-complete',
        event_id: null,
        error_message: effect.errorMessage,
      });
    return move;
  }

  private async announce(
    taskId: string,
    sandboxId: string,
    move: TaskMove,
    extra: Pick<TaskStatusMoveData, 'cause' | 'event_id' | 'error_message'>,
  ): Promise<void> {
    const type =
      move.to === 'completed'
        ? SUPERVISOR_EVENT_TYPES.TASK_COMPLETED
        : move.to === 'failed'
          ? SUPERVISOR_EVENT_TYPES.TASK_FAILED
          : SUPERVISOR_EVENT_TYPES.TASK_STATUS_CHANGED;
    const data = { task_id: taskId, sandbox_id: sandboxId, from: move.from, to: move.to, ...extra };
    await this.ctx.emitter.emit(type, data, sandboxId, taskId);
    this.ctx.log.info(data, 'task status moved by its worker');
  }

  private async advance(cursors: readonly { sandboxId: string; cursor: string }[]): Promise<void> {
    if (cursors.length === 0) return;
    await withStoreErrors(
      this.ctx.store.pool.query(
        `UPDATE sandbox_sessions s SET task_events_cursor = v.cursor FROM unnest($1::text[], $2::bigint[]) AS v(id, cursor)
         WHERE s.sandbox_id = v.id AND s.task_events_cursor < v.cursor`,
        [cursors.map((c) => c.sandboxId), cursors.map((c) => c.cursor)],
      ),
    );
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await withStoreErrors(this.ctx.store.pool.connect());
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

/**
 * The task's status moved by compare-and-set under a row lock: only from `effect.from`, only while the
 * task's current sandbox is the reporting one (a replaced sandbox's late report moves nothing).
 */
async function moveStatus(
  client: PoolClient,
  taskId: string,
  sandboxId: string,
  effect: TaskEffect,
  result: Record<string, unknown> | null,
): Promise<TaskMove | null> {
  if (!effect.to) return null;
  const { rows } = await client.query<{ status: TaskStatus; sandbox_id: string | null }>(
    `SELECT status, sandbox_id FROM tasks WHERE id = $1 FOR UPDATE`,
    [taskId],
  );
  const task = rows[0];
  if (!task || task.sandbox_id !== sandboxId || task.status === effect.to || !effect.from.includes(task.status))
    return null;
  await client.query(
    `UPDATE tasks SET status = $2, error_message = $3, result = coalesce($4::jsonb, result), updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1`,
    [
      taskId,
      effect.to,
      effect.to === 'failed' ? effect.errorMessage : null,
      result === null ? null : JSON.stringify(result),
    ],
  );
  return { from: task.status, to: effect.to };
}
