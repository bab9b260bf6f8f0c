import { IdempotencyKey, SandboxMessageJob } from '@sandbox-relay/contracts';
import {
  GUARDIAN_MESSAGE_TYPE,
  InterventionRouter,
  interventionIdempotencyKey,
  isSandboxTask,
  type GuardianTask,
  type Intervention,
  type LegacyConversationSink,
  type LegacyDelivery,
  type SandboxMessage,
  type SandboxMessageSink,
} from './routing';

class RecordingSandboxSink implements SandboxMessageSink {
  readonly sent: SandboxMessage[] = [];
  async send(message: SandboxMessage): Promise<void> {
    this.sent.push(message);
  }
}

class RecordingLegacySink implements LegacyConversationSink {
  readonly appended: Array<{ task: GuardianTask; intervention: Intervention }> = [];
  constructor(private readonly answer: LegacyDelivery = { ok: true }) {}
  async append(task: GuardianTask, intervention: Intervention): Promise<LegacyDelivery> {
    this.appended.push({ task, intervention });
    return this.answer;
  }
}

const WINDOW = 10 * 60_000;
const AT = 1_700_000_000_000;

function intervention(overrides: Partial<Intervention> = {}): Intervention {
  return {
    key: 'sandbox:sandbox-xyz',
    detector: 'looping',
    reason: 'same bash call 3 times in a row',
    content: 'Please focus on the authentication module.',
    idempotencyKey: interventionIdempotencyKey('sandbox:sandbox-xyz', 'looping', AT, WINDOW),
    at: AT,
    ...overrides,
  };
}

describe('isSandboxTask (seed 6: guardian detects sandbox mode)', () => {
  it('is true for a task with a sandbox id and false without one', () => {
    expect(isSandboxTask({ id: 'task-sandbox', sandboxId: 'sandbox-xyz' })).toBe(true);
    expect(isSandboxTask({ id: 'task-legacy', sandboxId: null, conversationDir: '/tmp/openhands/conv-123' })).toBe(
      false,
    );
    expect(isSandboxTask({ id: 'task-empty', sandboxId: '' })).toBe(false);
  });
});

describe('InterventionRouter', () => {
  it("sends a sandbox task's intervention to its sandbox as a guardian_intervention (seed 6)", async () => {
    const sandbox = new RecordingSandboxSink();
    const legacy = new RecordingLegacySink();
    const router = new InterventionRouter(sandbox, legacy);
    const result = await router.route(
      { id: 'task-123', sandboxId: 'sandbox-xyz', agentId: 'agent-456' },
      intervention(),
    );
    expect(result).toEqual({ routed: 'sandbox' });
    expect(sandbox.sent).toEqual([
      {
        sandboxId: 'sandbox-xyz',
        messageType: 'guardian_intervention',
        content: 'Please focus on the authentication module.',
        idempotencyKey: `guardian:looping:${Math.floor(AT / WINDOW)}:sandbox:sandbox-xyz`,
      },
    ]);
    expect(legacy.appended).toEqual([]);
  });

  it('produces what the sandbox-messages queue accepts', async () => {
    const sandbox = new RecordingSandboxSink();
    await new InterventionRouter(sandbox, new RecordingLegacySink()).route(
      { id: 't', sandboxId: 'sandbox-xyz' },
      intervention(),
    );
    const [message] = sandbox.sent;
    const job = {
      version: '1',
      sandbox_id: message!.sandboxId,
      content: message!.content,
      message_type: message!.messageType,
      idempotency_key: message!.idempotencyKey,
      sender: 'guardian',
    };
    expect(SandboxMessageJob.safeParse(job).success).toBe(true);
  });

  it('uses the legacy path for a task without a sandbox (seed 6)', async () => {
    const sandbox = new RecordingSandboxSink();
    const legacy = new RecordingLegacySink();
    const task = { id: 'task-123', sandboxId: null, agentId: 'agent-789', conversationDir: '/tmp/openhands/conv-456' };
    expect(await new InterventionRouter(sandbox, legacy).route(task, intervention())).toEqual({ routed: 'legacy' });
    expect(legacy.appended).toEqual([{ task, intervention: intervention() }]);
    expect(sandbox.sent).toEqual([]);
  });

  it('reports a legacy refusal as dropped, with the reason', async () => {
    const router = new InterventionRouter(
      new RecordingSandboxSink(),
      new RecordingLegacySink({ ok: false, reason: 'no conversation directory' }),
    );
    expect(await router.route({ id: 't', sandboxId: null }, intervention())).toEqual({
      routed: 'dropped',
      reason: 'no conversation directory',
    });
  });

  it('lets a sink failure through so the caller can retry later', async () => {
    const failing: SandboxMessageSink = { send: () => Promise.reject(new Error('redis down')) };
    await expect(
      new InterventionRouter(failing, new RecordingLegacySink()).route({ id: 't', sandboxId: 's' }, intervention()),
    ).rejects.toThrow('redis down');
  });
});

describe('interventionIdempotencyKey', () => {
  it('is the same for a retried decision within one cooldown window', () => {
    const windowStart = Math.floor(AT / WINDOW) * WINDOW;
    const a = interventionIdempotencyKey('sandbox:sb-1', 'stuck', windowStart, WINDOW);
    expect(interventionIdempotencyKey('sandbox:sb-1', 'stuck', windowStart + WINDOW - 1, WINDOW)).toBe(a);
    expect(interventionIdempotencyKey('sandbox:sb-1', 'stuck', windowStart + WINDOW, WINDOW)).not.toBe(a);
    expect(interventionIdempotencyKey('sandbox:sb-1', 'looping', windowStart, WINDOW)).not.toBe(a);
    expect(interventionIdempotencyKey('sandbox:sb-2', 'stuck', windowStart, WINDOW)).not.toBe(a);
  });

  it("always satisfies the contracts' IdempotencyKey, hashing an over-long entity id", () => {
    const long = interventionIdempotencyKey(`${'t'.repeat(64)}:${'x'.repeat(128)}`, 'error_storm', AT, WINDOW);
    expect(long).toMatch(/^guardian:error_storm:\d+:[0-9a-f]{64}$/);
    for (const key of [long, interventionIdempotencyKey('task:t.1_a-b', 'stuck', AT, WINDOW)]) {
      expect(IdempotencyKey.safeParse(key).success).toBe(true);
    }
  });

  it('names the message type the worker handles', () => {
    expect(GUARDIAN_MESSAGE_TYPE).toBe('guardian_intervention');
  });
});
