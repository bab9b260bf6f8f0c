import type { EventEnvelope } from '@sandbox-relay/contracts';
import { createTwoFilesPatch } from 'diff';
import { renderDiff } from './diff';
import { describeToolInput, DIFF_PREVIEW_LINES, toneOf, viewOf } from './event-view';
import { formatAge, humanizeType } from './format';

let nextId = 1;
function event(event_type: string, payload: Record<string, unknown>): EventEnvelope {
  return { id: String(nextId++), event_type, entity_type: 'sandbox', entity_id: 'sb-1', payload, source: 'agent', timestamp: '2026-11-24T12:00:00.000Z' };
}

describe('renderDiff', () => {
  const before = 'one\ntwo\nthree\nfour\n';
  const after = 'one\nTWO\nthree\nfour\nfive\n';
  const patch = createTwoFilesPatch('a/src/app.ts', 'b/src/app.ts', before, after);

  it('numbers old and new lines and marks additions and deletions', () => {
    const diff = renderDiff(patch);
    expect(diff.file).toBe('src/app.ts');
    expect(diff.additions).toBe(2);
    expect(diff.deletions).toBe(1);
    expect(diff.lines.map((line) => [line.kind, line.oldNo ?? null, line.newNo ?? null, line.text])).toEqual([
      ['hunk', null, null, '@@ -1,4 +1,5 @@'],
      ['ctx', 1, 1, 'one'],
      ['del', 2, null, 'two'],
      ['add', null, 2, 'TWO'],
      ['ctx', 3, 3, 'three'],
      ['ctx', 4, 4, 'four'],
      ['add', null, 5, 'five'],
    ]);
    expect(diff.hidden).toBe(0);
  });

  it('names a new file by its new path and a deleted one by its old path', () => {
    expect(renderDiff(createTwoFilesPatch('/dev/null', 'b/new.txt', '', 'hello\n')).file).toBe('new.txt');
    expect(renderDiff(createTwoFilesPatch('a/gone.txt', '/dev/null', 'bye\n', '')).file).toBe('gone.txt');
  });

  it('keeps the first lines of a long diff and counts the rest as hidden', () => {
    const long = createTwoFilesPatch('a/big.txt', 'b/big.txt', '', Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const diff = renderDiff(long, 10);
    expect(diff.lines).toHaveLength(10);
    expect(diff.hidden).toBe(91); // one hunk header and 100 added lines
    expect(diff.additions).toBe(100);
  });

  it('shows text that is not a patch as plain lines instead of failing', () => {
    const diff = renderDiff('just some text\nno hunks here');
    expect(diff.lines.map((line) => line.text)).toEqual(['just some text', 'no hunks here']);
    expect(diff.lines.every((line) => line.kind === 'ctx')).toBe(true);
  });
});

describe('tool calls', () => {
  it('shows a shell command as a prompt line', () => {
    const view = viewOf(event('agent.tool_use', { tool: 'bash', input: { command: 'npm test -- --watch=false' }, call_id: 'c1' }));
    expect(view.kind).toBe('tool');
    expect(view.title).toBe('$ npm test -- --watch=false');
  });

  it('joins an argv, quoting the parts that need it', () => {
    expect(describeToolInput('exec', { argv: ['git', 'commit', '-m', 'fix the build'] })).toBe('git commit -m "fix the build"');
  });

  it('names the file of a file tool and the pattern of a search tool', () => {
    expect(viewOf(event('agent.tool_use', { tool: 'Read', input: { file_path: 'src/a.ts' } })).title).toBe('Read src/a.ts');
    expect(viewOf(event('agent.tool_use', { tool: 'Grep', input: { pattern: 'TODO' } })).title).toBe('Grep TODO');
  });

  it('shows a failed command with its exit code, duration and output', () => {
    const view = viewOf(event('agent.tool_completed', { tool: 'bash', success: false, exit_code: 2, duration_ms: 3_250, stdout: 'ran 4 tests\n', stderr: '1 failed\n' }));
    expect(view.tone).toBe('bad');
    expect(view.title).toBe('bash failed');
    expect(view.detail).toBe('exit 2 · 3.3 s');
    expect(view.blocks).toEqual([
      { type: 'code', label: 'stdout', text: 'ran 4 tests' },
      { type: 'code', label: 'stderr', text: '1 failed' },
    ]);
  });

  it('shows a success, an interrupted command, and a tail of long output', () => {
    expect(viewOf(event('agent.tool_completed', { tool: 'bash', success: true, exit_code: 0, duration_ms: 40 })).detail).toBe('exit 0 · 40 ms');
    expect(viewOf(event('agent.tool_completed', { tool: 'bash', success: false, exit_code: null, signal: 'SIGTERM', interrupted: true })).detail).toBe('interrupted · signal SIGTERM');
    const long = viewOf(event('agent.tool_completed', { tool: 'bash', success: true, exit_code: 0, stdout: 'x'.repeat(5_000), stdout_truncated: true }));
    expect(long.blocks[0]).toMatchObject({ type: 'code', label: 'stdout (tail)' });
    expect((long.blocks[0] as { text: string }).text.length).toBeLessThan(2_100);
  });
});

describe('file edits', () => {
  it('shows the path, the counts and the diff, cut to the preview length', () => {
    const diffText = createTwoFilesPatch('a/src/x.ts', 'b/src/x.ts', '', Array.from({ length: 60 }, (_, i) => `const v${i} = ${i};`).join('\n') + '\n');
    const view = viewOf(event('agent.file_edited', { path: 'src/x.ts', diff: diffText, created: true, additions: 60, deletions: 0, bytes: 1_100 }));
    expect(view.kind).toBe('edit');
    expect(view.title).toBe('src/x.ts');
    expect(view.detail).toBe('new file · +60 −0 · 1.1 KiB');
    const block = view.blocks[0];
    expect(block?.type).toBe('diff');
    if (block?.type !== 'diff') throw new Error('expected a diff block');
    expect(block.diff.lines).toHaveLength(DIFF_PREVIEW_LINES);
    expect(block.diff.hidden).toBe(61 - DIFF_PREVIEW_LINES);
  });

  it('says why a diff is missing', () => {
    const view = viewOf(event('agent.file_edited', { path: 'logo.png', diff: null, diff_omitted: 'binary', additions: 0, deletions: 0 }));
    expect(view.blocks).toEqual([{ type: 'text', text: 'diff not shown (binary)' }]);
  });
});

describe('other catalogue types', () => {
  it('shows agent messages, guardian steering and interventions', () => {
    expect(viewOf(event('agent.message', { role: 'assistant', content: 'All tests pass.' }))).toMatchObject({ kind: 'message', title: 'agent', blocks: [{ type: 'text', text: 'All tests pass.' }] });
    expect(viewOf(event('agent.message', { role: 'system', kind: 'steering', from: 'guardian', content: 'Stop looping.' }))).toMatchObject({ kind: 'guardian', title: 'steering from guardian' });
    const intervention = viewOf(event('GUARDIAN_INTERVENTION', { detector: 'error_storm', reason: '5 failures in a row', message: 'Step back.', routed: 'sandbox' }));
    expect(intervention).toMatchObject({ kind: 'guardian', tone: 'warn', title: 'guardian: error storm', detail: 'routed to sandbox' });
  });

  it('shows a queued message with its type and preview', () => {
    expect(viewOf(event('SANDBOX_MESSAGE_QUEUED', { message_id: '42', message_type: 'user_message', content_preview: 'please add tests' }))).toMatchObject({
      kind: 'queued',
      title: 'user message queued',
      detail: '#42',
      blocks: [{ type: 'text', text: 'please add tests' }],
    });
    expect(viewOf(event('SANDBOX_MESSAGE_QUEUED', { message_id: '43', message_type: 'interrupt', content_preview: 'stop' })).tone).toBe('warn');
  });

  it('shows a restart with the old and new sandbox', () => {
    expect(viewOf(event('AGENT_RESTARTED', { task_id: 't-9', old_sandbox_id: 'sb-1', new_sandbox_id: 'sb 2', reason: 'missed 3 heartbeats', attempt: 1 }))).toEqual({
      kind: 'restart',
      tone: 'warn',
      icon: '↻',
      title: 'agent restarted',
      detail: 'sb-1 → sb 2',
      blocks: [
        { type: 'text', text: 'missed 3 heartbeats' },
        { type: 'fields', fields: [['task id', 't-9'], ['attempt', '1']] },
        { type: 'link', text: 'open sb 2 →', href: '#/sandboxes/sb%202' },
      ],
    });
  });

  it('shows a heartbeat as one quiet line', () => {
    expect(viewOf(event('heartbeat', { status: 'running', current_action: 'bash npm test', memory_rss_bytes: 50 * 1024 * 1024 }))).toMatchObject({ kind: 'heartbeat', detail: 'running · bash npm test · 50.0 MiB', blocks: [] });
  });
});

describe('types without a renderer', () => {
  it('read sensibly: a humanized name, a tone from the name, scalar fields and nested data', () => {
    const view = viewOf(event('PR_OPENED', { pr_number: 12, branch: 'ticket/ABC-1-fix', url: 'https://example.test/pr/12', checks: { ci: 'pending' } }));
    expect(view.kind).toBe('generic');
    expect(view.title).toBe('PR opened');
    expect(view.tone).toBe('info');
    expect(view.blocks[0]).toEqual({ type: 'fields', fields: [['pr number', '12'], ['branch', 'ticket/ABC-1-fix'], ['url', 'https://example.test/pr/12']] });
    expect(view.blocks[1]).toMatchObject({ type: 'code', label: 'data' });
    expect((view.blocks[1] as { text: string }).text).toContain('"ci": "pending"');
  });

  it('take their tone from the name', () => {
    expect(toneOf('SANDBOX_DEGRADED')).toBe('warn');
    expect(toneOf('HEARTBEAT_MISSED')).toBe('warn');
    expect(toneOf('SANDBOX_QUARANTINED')).toBe('bad');
    expect(toneOf('BRANCH_WORKFLOW_FAILED')).toBe('bad');
    expect(toneOf('PR_MERGED')).toBe('ok');
    expect(toneOf('BRANCH_CREATED')).toBe('info');
    expect(toneOf('custom.thing')).toBe('neutral');
  });

  it('fall back to the generic view when a known type has an unexpected payload', () => {
    const odd = viewOf(event('agent.tool_completed', { tool: 'bash', stdout: 12345 as unknown as string }));
    expect(odd.title).toBe('bash failed');
    const generic = viewOf({ ...event('agent.file_edited', {}), payload: null as unknown as Record<string, unknown> });
    expect(generic.title).toBe('a file');
  });
});

describe('format', () => {
  it('humanizes type names and ages', () => {
    expect(humanizeType('agent.tool_use')).toBe('Tool use');
    expect(humanizeType('BRANCH_WORKFLOW_FAILED')).toBe('Branch workflow failed');
    const now = Date.parse('2026-11-24T12:10:00Z');
    expect(formatAge('2026-11-24T12:09:55Z', now)).toBe('5 s');
    expect(formatAge('2026-11-24T12:00:00Z', now)).toBe('10 min');
    expect(formatAge(null, now)).toBe('—');
  });
});
