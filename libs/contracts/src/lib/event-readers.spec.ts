import { HEARTBEAT_STATUSES } from './event-types';
import {
  completionSummary,
  heartbeatStatus,
  isHeartbeatStatus,
  isSteeringMessage,
  messageText,
  toolCallOutcome,
  toolExitCode,
} from './event-readers';
import { EVENT_PAYLOAD_SCHEMAS, isKnownEventType } from './payloads/event-payloads';

describe('toolCallOutcome', () => {
  it('answers interrupted for a call an interrupt stopped, whatever else it says', () => {
    expect(
      toolCallOutcome({ tool: 'bash', success: false, exit_code: 130, interrupted: true, error: 'interrupted' }),
    ).toBe('interrupted');
    expect(toolCallOutcome({ interrupted: true })).toBe('interrupted');
  });

  it('lets an explicit boolean win over inferred signals', () => {
    expect(toolCallOutcome({ success: true, exit_code: 1, error: 'warning on stderr' })).toBe('ok');
    expect(toolCallOutcome({ success: false, exit_code: 0 })).toBe('failed');
    expect(toolCallOutcome({ is_error: true })).toBe('failed');
    expect(toolCallOutcome({ is_error: false, error: 'x' })).toBe('ok');
  });

  it('infers from exit code, error and status', () => {
    expect(toolCallOutcome({ exit_code: 2 })).toBe('failed');
    expect(toolCallOutcome({ exit_code: '1' })).toBe('failed');
    expect(toolCallOutcome({ error: 'ENOENT' })).toBe('failed');
    expect(toolCallOutcome({ error: { message: 'boom' } })).toBe('failed');
    expect(toolCallOutcome({ status: 'FAILED' })).toBe('failed');
    expect(toolCallOutcome({ exit_code: 0 })).toBe('ok');
    expect(toolCallOutcome({ status: 'success' })).toBe('ok');
  });

  it('answers unknown, never throws, for data that says nothing', () => {
    expect(toolCallOutcome({ tool: 'Read', output: 'text' })).toBe('unknown');
    expect(toolCallOutcome({ error: '   ' })).toBe('unknown');
    for (const odd of [null, undefined, 'text', 42, [], { exit_code: Number.NaN }])
      expect(toolCallOutcome(odd)).toBe('unknown');
  });

  it('reads a finite exit code only', () => {
    expect(toolExitCode({ exit_code: 3 })).toBe(3);
    expect(toolExitCode({ exit_code: null })).toBeNull();
    expect(toolExitCode('x')).toBeNull();
  });
});

describe('messageText and completionSummary', () => {
  it('read content, then text, then message; blank is none', () => {
    expect(messageText({ content: 'hi', text: 'no' })).toBe('hi');
    expect(messageText({ content: '  ', text: 'there' })).toBe('there');
    expect(messageText({ message: 'm' })).toBe('m');
    expect(messageText({ content: 12 })).toBeNull();
    expect(messageText(null)).toBeNull();
  });

  it('tell steering echoes from the agent speaking', () => {
    expect(isSteeringMessage({ kind: 'steering', content: 'stop' })).toBe(true);
    expect(isSteeringMessage({ content: 'hello' })).toBe(false);
  });

  it('prefer the summary, then the result, then the message text', () => {
    expect(completionSummary({ summary: 'did it', result: 'r' })).toBe('did it');
    expect(completionSummary({ result: 'r', content: 'c' })).toBe('r');
    expect(completionSummary({ content: 'c' })).toBe('c');
    expect(completionSummary({ turns: 3 })).toBeNull();
  });
});

describe('heartbeatStatus', () => {
  it('reads the statuses of both workers, and nothing else', () => {
    expect(heartbeatStatus({ status: 'running' })).toBe(HEARTBEAT_STATUSES.RUNNING);
    expect(heartbeatStatus({ status: 'alive' })).toBe(HEARTBEAT_STATUSES.ALIVE);
    expect(heartbeatStatus({ status: 'busy' })).toBeNull();
    expect(heartbeatStatus({ status: 1 })).toBeNull();
    expect(heartbeatStatus(undefined)).toBeNull();
    expect(isHeartbeatStatus('completed')).toBe(true);
    expect(isHeartbeatStatus(null)).toBe(false);
  });
});

describe('EVENT_PAYLOAD_SCHEMAS', () => {
  it('accepts what the relay worker sends and keeps extra fields', () => {
    const done = {
      tool: 'bash',
      call_id: 'c1',
      step: 0,
      success: false,
      exit_code: 130,
      signal: null,
      duration_ms: 5,
      stdout: '',
      stderr: '',
      interrupted: true,
      error: 'interrupted',
      extra: 1,
    };
    expect(EVENT_PAYLOAD_SCHEMAS['agent.tool_completed'].parse(done)).toEqual(done);
    expect(EVENT_PAYLOAD_SCHEMAS['heartbeat'].safeParse({ status: 'busy' }).success).toBe(false);
  });

  it('knows the types the relay emits', () => {
    expect(isKnownEventType('AGENT_RESTARTED')).toBe(true);
    expect(isKnownEventType('agent.heartbeat')).toBe(true);
    expect(isKnownEventType('toString')).toBe(false);
  });
});
