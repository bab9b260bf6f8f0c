import {
  ENTITY_TYPES,
  QUEUE_NAMES,
  SYSTEM_EVENT_TYPES,
  type GuardianInterventionEventData,
} from '@sandbox-relay/contracts';
import { jobIdFor, type JobProducer, type Redis } from '@sandbox-relay/bus';
import type { EventSink } from '@sandbox-relay/store';
import type { CooldownGate } from './policy/cooldown';
import type { InterventionRecord, InterventionRecorder } from './steering/intervener';
import type { SandboxMessage, SandboxMessageSink } from './steering/routing';

/** Sandbox interventions as `sandbox-messages` jobs; the job id makes a re-sent decision a no-op. */
export class QueueSandboxMessageSink implements SandboxMessageSink {
  constructor(private readonly producer: JobProducer) {}

  async send(message: SandboxMessage): Promise<void> {
    await this.producer.enqueue(
      QUEUE_NAMES.SANDBOX_MESSAGES,
      {
        version: '1',
        sandbox_id: message.sandboxId,
        content: message.content,
        message_type: message.messageType,
        idempotency_key: message.idempotencyKey,
        sender: 'guardian',
      },
      jobIdFor(message.idempotencyKey),
    );
  }
}

/** One intervention per key per window across every guardian replica: `SET … NX PX`. */
export class RedisCooldownGate implements CooldownGate {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async tryAcquire(key: string, windowMs: number): Promise<boolean> {
    return (await this.redis.set(this.redisKey(key), '1', 'PX', windowMs, 'NX')) === 'OK';
  }

  async release(key: string): Promise<void> {
    await this.redis.del(this.redisKey(key));
  }

  private redisKey(key: string): string {
    return `${this.prefix}:guardian:cooldown:${key}`;
  }
}

/** Every intervention becomes a stored, published `GUARDIAN_INTERVENTION` event, so dashboards show it. */
export class EventInterventionRecorder implements InterventionRecorder {
  constructor(private readonly sink: EventSink) {}

  async record(record: InterventionRecord): Promise<void> {
    const data: GuardianInterventionEventData = {
      task_id: record.taskId,
      detector: record.detector,
      reason: record.reason,
      message: record.message,
      routed: record.routed,
      ...(record.routeReason === undefined ? {} : { route_reason: record.routeReason }),
      idempotency_key: record.idempotencyKey,
    };
    await this.sink.emit(
      SYSTEM_EVENT_TYPES.GUARDIAN_INTERVENTION,
      { entityType: record.entityType || ENTITY_TYPES.SANDBOX, entityId: record.entityId },
      data,
    );
  }
}
