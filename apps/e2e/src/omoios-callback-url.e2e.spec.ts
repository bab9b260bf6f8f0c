import { Writable } from 'node:stream';
import { sandboxCallbackUrl, type TokenIssuer } from '@sandbox-relay/auth';
import type { Standalone } from '@sandbox-relay/standalone';
import { uniqueId } from '@sandbox-relay/testing';
import pino from 'pino';
import { runPythonJson } from './support/python';
import { startRelayWithAuth } from './support/relay';

interface Answer {
  status: number;
  body: any;
}

// The original system's worker (OmoiOS) sends no credentials and builds every URL from CALLBACK_URL.
// With auth on, the relay hands it a callback URL whose userinfo holds its sandbox token; the worker's
// httpx sends that as Basic auth. Run here as Python, unchanged in protocol: it may write and drain
// its own sandbox only, and its token appears in no log line.
describe('an unchanged original-style worker with a credentialed CALLBACK_URL (auth on)', () => {
  const logLines: string[] = [];
  let relay: Standalone;
  let issuer: TokenIssuer;
  const A = uniqueId('omo-a');
  const B = uniqueId('omo-b');
  let tokenA: string;

  const worker = (steps: unknown[], callbackUrl: string, sandboxId = A) =>
    runPythonJson<Answer[]>('original_worker.py', [JSON.stringify(steps)], {
      env: { CALLBACK_URL: callbackUrl, SANDBOX_ID: sandboxId, TASK_ID: 'task-omo', AGENT_ID: 'agent-omo' },
    });

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    ({ relay, issuer } = await startRelayWithAuth({ LOG_LEVEL: 'debug' }, pino({ level: 'debug' }, sink)));
    tokenA = await issuer.issueSandboxToken(A, 600);
  });
  afterAll(async () => {
    await relay.close();
  });

  it('reports and heartbeats on its own sandbox, as the original worker does', async () => {
    const [started, beat] = await worker(
      [{ op: 'report', event_type: 'agent.started', event_data: { prompt: 'fix it' } }, { op: 'heartbeat' }],
      sandboxCallbackUrl(relay.url, tokenA),
    );
    expect(started).toMatchObject({
      status: 200,
      body: {
        entity_id: A,
        event_type: 'agent.started',
        payload: { prompt: 'fix it', task_id: 'task-omo', agent_id: 'agent-omo', sandbox_id: A },
      },
    });
    expect(beat).toMatchObject({
      status: 200,
      body: { event_type: 'agent.heartbeat', source: 'worker', payload: { status: 'alive', event_count: 1 } },
    });
  });

  it("drains its own messages, and neither writes nor drains another sandbox's", async () => {
    const operator = await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'e2e', ttlSeconds: 600 });
    for (const sandbox of [A, B]) {
      const queued = await fetch(`${relay.url}/api/v1/sandboxes/${sandbox}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
        body: JSON.stringify({ content: `for ${sandbox}`, message_type: 'user_message' }),
      });
      expect(queued.status).toBe(200);
    }
    const [writeOther, drainOther, drainOwn] = await worker(
      [
        { op: 'report', event_type: 'agent.message', event_data: { content: 'forged' }, sandbox_id: B },
        { op: 'poll', sandbox_id: B },
        { op: 'poll' },
      ],
      sandboxCallbackUrl(relay.url, tokenA),
    );
    expect(writeOther!.status).toBe(403);
    expect(writeOther!.body.error.code).toBe('forbidden');
    expect(drainOther!.status).toBe(403);
    expect(drainOwn!.status).toBe(200);
    expect(drainOwn!.body.map((message: { content: string }) => message.content)).toEqual([`for ${A}`]);

    // B's message is still there for B, and B's history holds no event forged by A.
    const tokenB = await issuer.issueSandboxToken(B, 600);
    const [drainB] = await worker([{ op: 'poll' }], sandboxCallbackUrl(relay.url, tokenB), B);
    expect(drainB!.body.map((message: { content: string }) => message.content)).toEqual([`for ${B}`]);
    const history = await fetch(`${relay.url}/api/v1/sandboxes/${B}/events`, {
      headers: { authorization: `Bearer ${operator}` },
    });
    const page = (await history.json()) as { events: Array<{ event_type: string }> };
    expect(page.events.filter((event) => event.event_type === 'agent.message')).toEqual([]);
  });

  it('is refused without credentials (a plain CALLBACK_URL) and with a tampered token', async () => {
    const [plain] = await worker([{ op: 'heartbeat' }], relay.url);
    expect(plain!.status).toBe(401);
    const [tampered] = await worker([{ op: 'heartbeat' }], sandboxCallbackUrl(relay.url, `${tokenA.slice(0, -4)}AAAA`));
    expect(tampered!.status).toBe(401);
  });

  it('leaves the token out of every log line', () => {
    expect(logLines.length).toBeGreaterThan(0);
    const leaked = logLines.filter(
      (line) => line.includes(tokenA) || line.includes(Buffer.from(`sandbox:${tokenA}`).toString('base64')),
    );
    expect(leaked).toEqual([]);
  });
});
