// Test helpers shared by this app's specs (excluded from the app's build by tsconfig.json).
import type { EventEnvelope } from '@sandbox-relay/contracts';

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public time = 1_700_000_000_000) {}
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

/** Builds envelopes as EventRepository.list returns them: ascending ids across every sandbox. */
export class EnvelopeFactory {
  private nextId = 1;

  constructor(private readonly clock = new ManualClock()) {}

  event(eventType: string, payload: Record<string, unknown> = {}, sandboxId = 'sb-1', source: string | null = 'worker'): EventEnvelope {
    this.clock.advance(1_000);
    return {
      id: String(this.nextId++),
      event_type: eventType,
      entity_type: 'sandbox',
      entity_id: sandboxId,
      payload,
      source,
      timestamp: new Date(this.clock.now()).toISOString(),
    };
  }

  /** A shell-agent command: `agent.tool_use` then its `agent.tool_completed`, paired by `call_id`. */
  command(command: string, result: Record<string, unknown>, sandboxId = 'sb-1'): EventEnvelope[] {
    const callId = `call-${this.nextId}`;
    return [
      this.event('agent.tool_use', { tool: 'bash', input: { command }, call_id: callId }, sandboxId, 'agent'),
      this.event('agent.tool_completed', { tool: 'bash', call_id: callId, ...result }, sandboxId, 'agent'),
    ];
  }
}
