import { metricsRegistry } from '@sandbox-relay/service-kit';
import { metricValue } from '@sandbox-relay/testing';
import { MemoryCooldownGate } from './policy/cooldown';
import { Guardian } from './guardian';
import type { InterventionRecord, InterventionRecorder, TaskLookup } from './steering/intervener';
import { ConversationFileSink } from './steering/legacy-conversation-sink';
import { InterventionRouter, type SandboxMessage, type SandboxMessageSink } from './steering/routing';
import { captureLogger, ManualClock, toolUse } from './spec-support';

class Tasks implements TaskLookup {
  async bySandboxId(sandboxId: string) {
    return { id: 'task-1', sandboxId, agentId: 'agent-1' };
  }
  async byId() {
    return null;
  }
}

class Sink implements SandboxMessageSink {
  readonly sent: SandboxMessage[] = [];
  async send(message: SandboxMessage): Promise<void> {
    this.sent.push(message);
  }
}

class Recorder implements InterventionRecorder {
  readonly records: InterventionRecord[] = [];
  async record(record: InterventionRecord): Promise<void> {
    this.records.push(record);
  }
}

const delivered = async () =>
  metricValue(await metricsRegistry.metrics(), 'relay_guardian_interventions_total', {
    detector: 'looping',
    outcome: 'delivered',
  }) ?? 0;

describe('guardian metrics', () => {
  it('counts a delivered intervention by detector and outcome, without the sandbox id', async () => {
    const clock = new ManualClock();
    const sink = new Sink();
    const guardian = new Guardian({
      tasks: new Tasks(),
      gate: new MemoryCooldownGate(clock.now),
      router: new InterventionRouter(sink, new ConversationFileSink()),
      recorder: new Recorder(),
      logger: captureLogger().logger,
      now: clock.now,
    });
    const before = await delivered();
    for (let i = 0; i < 3; i += 1) await guardian.observe(toolUse('npm test'));
    await guardian.whenIdle();
    expect(sink.sent).toHaveLength(1);
    expect(await delivered()).toBe(before + 1);
    expect(await metricsRegistry.metrics()).not.toContain(sink.sent[0]?.sandboxId);
  });
});
