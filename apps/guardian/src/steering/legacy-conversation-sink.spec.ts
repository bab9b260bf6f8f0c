import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConversationFileSink, INTERVENTIONS_FILE } from './legacy-conversation-sink';
import { InterventionRouter, type Intervention, type SandboxMessageSink } from './routing';

const AT = Date.UTC(2026, 0, 2, 3, 4, 5);

function intervention(content = 'Please verify the test results.'): Intervention {
  return { key: 'task:task-1', detector: 'looping', reason: 'r', content, idempotencyKey: 'k', at: AT };
}

async function lines(dir: string): Promise<unknown[]> {
  const text = await readFile(path.join(dir, INTERVENTIONS_FILE), 'utf8');
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
}

describe('ConversationFileSink', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'guardian-legacy-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('appends one JSON line per intervention, creating the directory (seed 6 legacy routing)', async () => {
    const dir = path.join(root, 'openhands', 'conv-456');
    const noSandbox: SandboxMessageSink = { send: () => Promise.reject(new Error('must not be called')) };
    const router = new InterventionRouter(noSandbox, new ConversationFileSink());
    const task = { id: 'task-1', sandboxId: null, conversationDir: dir };
    expect(await router.route(task, intervention('first\nwith a newline'))).toEqual({ routed: 'legacy' });
    expect(await router.route(task, intervention('second'))).toEqual({ routed: 'legacy' });
    expect(await lines(dir)).toEqual([
      {
        type: 'guardian_intervention',
        content: 'first\nwith a newline',
        at: '2026-01-02T03:04:05.000Z',
        task_id: 'task-1',
      },
      { type: 'guardian_intervention', content: 'second', at: '2026-01-02T03:04:05.000Z', task_id: 'task-1' },
    ]);
  });

  it('keeps every line whole under concurrent appends', async () => {
    const sink = new ConversationFileSink();
    const task = { id: 'task-1', sandboxId: null, conversationDir: root };
    const content = (i: number) => `${i}:${'y'.repeat(4_000)}`;
    await Promise.all(Array.from({ length: 50 }, (_, i) => sink.append(task, intervention(content(i)))));
    const written = (await lines(root)) as Array<{ content: string }>;
    expect(written.map((line) => line.content).sort()).toEqual(Array.from({ length: 50 }, (_, i) => content(i)).sort());
  });

  it('refuses a task without a conversation directory, with a reason', async () => {
    const sink = new ConversationFileSink();
    expect(await sink.append({ id: 'task-9', sandboxId: null }, intervention())).toEqual({
      ok: false,
      reason: 'task task-9 has neither a sandbox nor a conversation directory',
    });
    expect(await sink.append({ id: 'task-9', sandboxId: null, conversationDir: '  ' }, intervention())).toMatchObject({
      ok: false,
    });
  });

  it('refuses a relative directory and one outside the configured root', async () => {
    expect(
      await new ConversationFileSink().append({ id: 't', sandboxId: null, conversationDir: 'conv/1' }, intervention()),
    ).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not absolute'),
    });
    const sink = new ConversationFileSink({ root: path.join(root, 'conversations') });
    const outside = { id: 't', sandboxId: null, conversationDir: path.join(root, 'conversations', '..', 'etc') };
    expect(await sink.append(outside, intervention())).toMatchObject({
      ok: false,
      reason: expect.stringContaining('outside'),
    });
    const inside = { id: 't', sandboxId: null, conversationDir: path.join(root, 'conversations', 'conv-1') };
    expect(await sink.append(inside, intervention())).toEqual({ ok: true });
  });

  it('makes the router drop a legacy task without a directory', async () => {
    const router = new InterventionRouter({ send: async () => undefined }, new ConversationFileSink());
    expect(await router.route({ id: 'task-9', sandboxId: null, conversationDir: null }, intervention())).toEqual({
      routed: 'dropped',
      reason: 'task task-9 has neither a sandbox nor a conversation directory',
    });
  });

  it('throws when the file cannot be written (a delivery failure, not a refusal)', async () => {
    await new ConversationFileSink().append({ id: 't', sandboxId: null, conversationDir: root }, intervention());
    const blocked = { id: 't', sandboxId: null, conversationDir: path.join(root, INTERVENTIONS_FILE, 'sub') };
    // `interventions.jsonl` is a file, so no directory can be made under it.
    await expect(new ConversationFileSink().append(blocked, intervention())).rejects.toThrow(/ENOTDIR|EEXIST/);
  });
});
