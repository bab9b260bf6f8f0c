import { EventBody } from '@sandbox-relay/contracts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_DIFF_CHARS, unifiedDiff, writeWorkspaceFile } from './file-edit';

describe('writeWorkspaceFile', () => {
  let workspace: string;

  beforeEach(() => {
    workspace = mkdtempSync(path.join(tmpdir(), 'worker-file-edit-'));
  });
  afterEach(() => rmSync(workspace, { recursive: true, force: true }));

  it('cuts a too long diff without splitting a character, so the relay still takes the event', async () => {
    // Place an emoji (a surrogate pair) exactly across the cut: its first half is the last char kept.
    const header = unifiedDiff('big.txt', null, 'Q')!.indexOf('Q');
    const content = `${'a'.repeat(MAX_DIFF_CHARS - 1 - header)}😀${'b'.repeat(100)}`;
    const edit = await writeWorkspaceFile(workspace, 'big.txt', content);
    expect(edit.diff_truncated).toBe(true);
    expect(edit.diff?.isWellFormed()).toBe(true);
    expect(EventBody.safeParse({ event_type: 'agent.file_edited', event_data: { ...edit } }).success).toBe(true);
  });
});
