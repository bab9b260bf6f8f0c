import type { EventEnvelope } from '@sandbox-relay/contracts';
import { createTwoFilesPatch } from 'diff';
import { renderDiff } from './diff';
import { describeToolInput, DIFF_PREVIEW_LINES, safeExternalUrl, toneOf, viewOf } from './event-view';
import { formatAge, humanizeType } from './format';

let nextId = 1;
function event(event_type: string, payload: Record<string, unknown>): EventEnvelope {
  return {
    id: String(nextId++),
    event_type,
    entity_type: 'sandbox',
    entity_id: 'sb-1',
    payload,
    source: 'agent',
    timestamp: '2026-11-24T12:00:00.000Z',
  };
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
    const long = createTwoFilesPatch(
      'a/big.txt',
      'b/big.txt',
      '',
      Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n',
    );
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
    const view = viewOf(
      event('agent.tool_use', { tool: 'bash', input: { command: 'npm test -- --watch=false' }, call_id: 'c1' }),
    );
    expect(view.kind).toBe('tool');
    expect(view.title).toBe('$ npm test -- --watch=false');
  });

  it('joins an argv, quoting the parts that need it', () => {
    expect(describeToolInput('exec', { argv: ['git', 'commit', '-m', 'fix the build'] })).toBe(
      'git commit -m "fix the build"',
    );
  });

  it('names the file of a file tool and the pattern of a search tool', () => {
    expect(viewOf(event('agent.tool_use', { tool: 'Read', input: { file_path: 'src/a.ts' } })).title).toBe(
      'Read src/a.ts',
    );
    expect(viewOf(event('agent.tool_use', { tool: 'Grep', input: { pattern: 'TODO' } })).title).toBe('Grep TODO');
  });

  it('shows a failed command with its exit code, duration and output', () => {
    const view = viewOf(
      event('agent.tool_completed', {
        tool: 'bash',
        success: false,
        exit_code: 2,
        duration_ms: 3_250,
        stdout: 'ran 4 tests\n',
        stderr: '1 failed\n',
      }),
    );
    expect(view.tone).toBe('bad');
    expect(view.title).toBe('bash failed');
    expect(view.detail).toBe('exit 2 · 3.3 s');
    expect(view.blocks).toEqual([
      { type: 'code', label: 'stdout', text: 'ran 4 tests' },
      { type: 'code', label: 'stderr', text: '1 failed' },
    ]);
  });

  it('shows a success, an interrupted command, and a tail of long output', () => {
    expect(
      viewOf(event('agent.tool_completed', { tool: 'bash', success: true, exit_code: 0, duration_ms: 40 })).detail,
    ).toBe('exit 0 · 40 ms');
    // Issue 15: interrupted is its own outcome, shown as interrupted (not ✗ failed).
    expect(
      viewOf(
        event('agent.tool_completed', {
          tool: 'bash',
          success: false,
          exit_code: null,
          signal: 'SIGTERM',
          interrupted: true,
          error: 'interrupted',
        }),
      ),
    ).toMatchObject({
      tone: 'warn',
      icon: '⏹',
      title: 'bash interrupted',
      detail: 'signal SIGTERM',
      blocks: [],
    });
    expect(
      viewOf(event('agent.tool_completed', { tool: 'bash', success: false, exit_code: 130, interrupted: true })).title,
    ).toBe('bash interrupted');
    const long = viewOf(
      event('agent.tool_completed', {
        tool: 'bash',
        success: true,
        exit_code: 0,
        stdout: 'x'.repeat(5_000),
        stdout_truncated: true,
      }),
    );
    expect(long.blocks[0]).toMatchObject({ type: 'code', label: 'stdout (tail)' });
    expect((long.blocks[0] as { text: string }).text.length).toBeLessThan(2_100);
  });
});

describe('file edits', () => {
  it('shows the path, the counts and the diff, cut to the preview length', () => {
    const diffText = createTwoFilesPatch(
      'a/src/x.ts',
      'b/src/x.ts',
      '',
      Array.from({ length: 60 }, (_, i) => `const v${i} = ${i};`).join('\n') + '\n',
    );
    const view = viewOf(
      event('agent.file_edited', {
        path: 'src/x.ts',
        diff: diffText,
        created: true,
        additions: 60,
        deletions: 0,
        bytes: 1_100,
      }),
    );
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
    const view = viewOf(
      event('agent.file_edited', { path: 'logo.png', diff: null, diff_omitted: 'binary', additions: 0, deletions: 0 }),
    );
    expect(view.blocks).toEqual([{ type: 'text', text: 'diff not shown (binary)' }]);
  });
});

describe('other catalogue types', () => {
  it('shows agent messages, guardian steering and interventions', () => {
    expect(viewOf(event('agent.message', { role: 'assistant', content: 'All tests pass.' }))).toMatchObject({
      kind: 'message',
      title: 'agent',
      blocks: [{ type: 'text', text: 'All tests pass.' }],
    });
    expect(
      viewOf(event('agent.message', { role: 'system', kind: 'steering', from: 'guardian', content: 'Stop looping.' })),
    ).toMatchObject({ kind: 'guardian', title: 'steering from guardian' });
    const intervention = viewOf(
      event('GUARDIAN_INTERVENTION', {
        detector: 'error_storm',
        reason: '5 failures in a row',
        message: 'Step back.',
        routed: 'sandbox',
      }),
    );
    expect(intervention).toMatchObject({
      kind: 'guardian',
      tone: 'warn',
      title: 'guardian: error storm',
      detail: 'routed to sandbox',
    });
  });

  it('shows a queued message with its type and preview', () => {
    expect(
      viewOf(
        event('SANDBOX_MESSAGE_QUEUED', {
          message_id: '42',
          message_type: 'user_message',
          content_preview: 'please add tests',
        }),
      ),
    ).toMatchObject({
      kind: 'queued',
      title: 'user message queued',
      detail: '#42',
      blocks: [{ type: 'text', text: 'please add tests' }],
    });
    expect(
      viewOf(event('SANDBOX_MESSAGE_QUEUED', { message_id: '43', message_type: 'interrupt', content_preview: 'stop' }))
        .tone,
    ).toBe('warn');
  });

  it("marks queued guardian steering, the relay's guardian_intervention and the original system's guardian_nudge alike", () => {
    for (const type of ['guardian_intervention', 'guardian_nudge']) {
      expect(
        viewOf(
          event('SANDBOX_MESSAGE_QUEUED', {
            message_id: '44',
            message_type: type,
            content_preview: 'try another approach',
          }),
        ),
      ).toMatchObject({
        kind: 'queued',
        tone: 'warn',
        icon: '⚑',
        title: `${type.replace(/_/g, ' ')} queued`,
      });
    }
    expect(
      viewOf(event('SANDBOX_MESSAGE_QUEUED', { message_id: '45', message_type: 'system', content_preview: 'note' })),
    ).toMatchObject({ tone: 'info', icon: '✉' });
  });

  it('shows a restart with its reason and links to the old and the new sandbox', () => {
    expect(
      viewOf(
        event('AGENT_RESTARTED', {
          task_id: 't-9',
          old_sandbox_id: 'sb-1',
          new_sandbox_id: 'sb 2',
          reason: 'missed 3 heartbeats',
          attempt: 2,
          forced: true,
        }),
      ),
    ).toEqual({
      kind: 'restart',
      tone: 'warn',
      icon: '↻',
      title: 'agent restarted',
      detail: 'sb-1 → sb 2 · attempt 2 · forced',
      blocks: [
        { type: 'fields', fields: [['reason', 'missed 3 heartbeats']] },
        { type: 'link', text: '← replaced sb-1', href: '#/sandboxes/sb-1' },
        { type: 'link', text: 'open sb 2 →', href: '#/sandboxes/sb%202' },
      ],
    });
  });

  it('shows a heartbeat as one quiet line', () => {
    expect(
      viewOf(
        event('heartbeat', { status: 'running', current_action: 'bash npm test', memory_rss_bytes: 50 * 1024 * 1024 }),
      ),
    ).toMatchObject({ kind: 'heartbeat', detail: 'running · bash npm test · 50.0 MiB', blocks: [] });
  });
});

describe('supervisor events', () => {
  // The event's timestamp is 12:00:00; the supervisor last heard a heartbeat 45 s earlier.
  const ladder = {
    task_id: 't-1',
    sandbox_id: 'sb-1',
    missed: 2,
    last_seen_at: '2026-11-24T11:59:15.000Z',
    heartbeat_interval_ms: 15_000,
  };

  it('shows DEGRADED with the missed count and the last heartbeat age', () => {
    expect(viewOf(event('SANDBOX_DEGRADED', ladder))).toEqual({
      kind: 'supervisor',
      tone: 'bad',
      icon: '◆',
      title: 'sandbox DEGRADED',
      detail: '2 missed heartbeats · last heartbeat 45 s before',
      blocks: [
        {
          type: 'fields',
          fields: [
            ['last heartbeat', '2026-11-24 11:59:15 UTC'],
            ['interval', '15 s'],
          ],
        },
      ],
    });
  });

  it('shows a missed-heartbeat warning and a recovery', () => {
    expect(
      viewOf(event('SANDBOX_HEARTBEAT_MISSED', { ...ladder, missed: 1, last_seen_at: '2026-11-24T11:58:00.000Z' })),
    ).toMatchObject({
      tone: 'warn',
      title: 'heartbeat missed',
      detail: '1 missed heartbeat · last heartbeat 2 min 0 s before',
    });
    expect(viewOf(event('SANDBOX_RECOVERED', ladder))).toMatchObject({
      tone: 'ok',
      title: 'heartbeats recovered',
      detail: 'after 2 missed heartbeats',
    });
  });

  it('shows a quarantine with its restart count and window', () => {
    expect(
      viewOf(
        event('TASK_QUARANTINED', {
          task_id: 't-1',
          sandbox_id: 'sb-1',
          reason: 'restart intensity exceeded: 4 restarts within 10 min (limit 3)',
          trigger: 'missed 3 heartbeats',
          restarts_in_window: 4,
        }),
      ),
    ).toEqual({
      kind: 'supervisor',
      tone: 'bad',
      icon: '✖',
      title: 'task quarantined: no more restarts',
      detail: '4 restarts in the window',
      blocks: [
        {
          type: 'fields',
          fields: [
            ['reason', 'restart intensity exceeded: 4 restarts within 10 min (limit 3)'],
            ['last trigger', 'missed 3 heartbeats'],
          ],
        },
      ],
    });
    expect(viewOf(event('TASK_QUARANTINED', { restarts_in_window: 1, window_ms: 600_000 })).detail).toBe(
      '1 restart within 10 min 0 s',
    );
  });

  it('shows an idle stop with how long the agent was idle', () => {
    expect(
      viewOf(
        event('SANDBOX_IDLE_STOPPED', {
          task_id: 't-1',
          sandbox_id: 'sb-1',
          idle_for_ms: 1_830_000,
          idle_since: '2026-11-24T11:29:30.000Z',
        }),
      ),
    ).toEqual({
      kind: 'supervisor',
      tone: 'neutral',
      icon: '⏻',
      title: 'stopped after 30 min 30 s idle',
      detail: 'idle since 2026-11-24 11:29:30 UTC',
      blocks: [],
    });
  });

  it('shows a failed restart, and the task steps', () => {
    expect(
      viewOf(
        event('AGENT_RESTART_FAILED', {
          task_id: 't-1',
          old_sandbox_id: 'sb-1',
          reason: 'missed 3 heartbeats',
          error: 'provider said 503',
        }),
      ),
    ).toMatchObject({
      tone: 'bad',
      title: 'restart failed',
      detail: 'replacing sb-1',
      blocks: [
        { type: 'fields', fields: [['reason', 'missed 3 heartbeats']] },
        { type: 'code', label: 'error', text: 'provider said 503' },
      ],
    });
    expect(
      viewOf(event('TASK_STARTED', { task_id: 't-1', sandbox_id: 'sb-1', provider: 'daytona', agent_id: 'claude' })),
    ).toMatchObject({ title: 'task started', detail: 'task t-1 · daytona · claude' });
    expect(viewOf(event('TASK_COMPLETED', { task_id: 't-1', sandbox_id: 'sb-1' }))).toMatchObject({
      tone: 'ok',
      title: 'task completed',
    });
    expect(viewOf(event('TASK_STOPPED', { task_id: 't-1', sandbox_id: 'sb-1', reason: 'operator' })).blocks).toEqual([
      { type: 'fields', fields: [['reason', 'operator']] },
    ]);
  });
});

describe('branch workflow events', () => {
  const base = {
    ticket_id: 'ABC-1',
    task_id: 't-1',
    repo: 'acme/app',
    branch_name: 'feature/ABC-1-login',
    base_branch: 'main',
  };

  it('shows the branch, and the pull request with a link to it', () => {
    expect(viewOf(event('BRANCH_CREATED', base))).toMatchObject({
      kind: 'branch',
      tone: 'info',
      title: 'branch feature/ABC-1-login',
      detail: 'from main · acme/app',
    });
    expect(
      viewOf(
        event('PR_OPENED', { ...base, pr_number: 12, pr_url: 'https://github.com/acme/app/pull/12', files_changed: 3 }),
      ),
    ).toEqual({
      kind: 'branch',
      tone: 'info',
      icon: '⇅',
      title: 'PR #12 opened',
      detail: 'feature/ABC-1-login · 3 files',
      blocks: [
        { type: 'link', text: 'PR #12 on github.com ↗', href: 'https://github.com/acme/app/pull/12', external: true },
      ],
    });
    expect(
      viewOf(
        event('PR_MERGED', {
          ...base,
          pr_number: 12,
          pr_url: 'https://github.com/acme/app/pull/12',
          merge_sha: 'abcdef0123456789',
        }),
      ),
    ).toMatchObject({ tone: 'ok', title: 'PR #12 merged', detail: 'feature/ABC-1-login · abcdef0' });
  });

  it('never links an address that is not http(s)', () => {
    expect(viewOf(event('PR_OPENED', { ...base, pr_number: 13, pr_url: 'javascript:alert(1)' })).blocks).toEqual([]);
    expect(safeExternalUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeExternalUrl('not a url')).toBeUndefined();
    expect(safeExternalUrl('http://127.0.0.1:9/pr/1')).toBe('http://127.0.0.1:9/pr/1');
  });

  it('shows a failure with its step, code and message', () => {
    expect(
      viewOf(
        event('BRANCH_WORKFLOW_FAILED', {
          ...base,
          pr_number: null,
          step: 'finish',
          code: 'github_error',
          github_status: 422,
          message: 'No commits between main and feature/ABC-1-login',
        }),
      ),
    ).toEqual({
      kind: 'branch',
      tone: 'bad',
      icon: '⚠',
      title: 'branch workflow failed at finish',
      detail: 'acme/app',
      blocks: [
        {
          type: 'fields',
          fields: [
            ['step', 'finish'],
            ['code', 'github_error'],
            ['github status', '422'],
            ['branch name', 'feature/ABC-1-login'],
          ],
        },
        { type: 'text', text: 'No commits between main and feature/ABC-1-login' },
      ],
    });
  });
});

describe('types without a renderer', () => {
  it('read sensibly: a humanized name, a tone from the name, scalar fields and nested data', () => {
    const view = viewOf(
      event('PR_COMMENTED', {
        pr_number: 12,
        branch: 'ticket/ABC-1-fix',
        url: 'https://example.test/pr/12',
        checks: { ci: 'pending' },
      }),
    );
    expect(view.kind).toBe('generic');
    expect(view.title).toBe('PR commented');
    expect(view.tone).toBe('info');
    expect(view.blocks[0]).toEqual({
      type: 'fields',
      fields: [
        ['pr number', '12'],
        ['branch', 'ticket/ABC-1-fix'],
        ['url', 'https://example.test/pr/12'],
      ],
    });
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
