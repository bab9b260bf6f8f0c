import { clipUnits } from '@sandbox-relay/contracts';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { storableText } from '../util/text';

/**
 * Bound on the diff carried by one `agent.file_edited` event. The relay refuses `event_data` over
 * 256 KiB with a 422 (and the outbox drops 4xx events), so a bigger diff is cut rather than lost.
 */
export const MAX_DIFF_CHARS = 200 * 1024;
/** Files this large are written but not diffed: Myers' diff is quadratic in the worst case. */
const MAX_DIFFED_BYTES = 1024 * 1024;
/** The diff library gives up (returns undefined) past this time rather than stall the event loop. */
const DIFF_TIMEOUT_MS = 2_000;

/** Payload of `agent.file_edited`. */
export interface FileEdit {
  /** Workspace-relative, with forward slashes. */
  path: string;
  /** Unified diff (`--- a/…`, `+++ b/…`, hunks); null when omitted (see `diff_omitted`). */
  diff: string | null;
  created: boolean;
  additions: number;
  deletions: number;
  bytes: number;
  diff_truncated?: boolean;
  diff_omitted?: 'binary' | 'too_large' | 'timeout';
}

export class WorkspacePathError extends Error {
  constructor(relative: string) {
    super(`path ${JSON.stringify(relative)} is outside the workspace`);
    this.name = 'WorkspacePathError';
  }
}

/**
 * Resolves a plan path inside the workspace; a plan may not write over the worker or the system.
 * `allowRoot` admits the workspace itself (a command's cwd), never a file write.
 */
export function resolveInWorkspace(
  workspace: string,
  relative: string,
  allowRoot = false,
): { absolute: string; relative: string } {
  const absolute = path.resolve(workspace, relative);
  const inside = path.relative(workspace, absolute);
  if ((inside === '' && !allowRoot) || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside))
    throw new WorkspacePathError(relative);
  return { absolute, relative: inside.split(path.sep).join('/') };
}

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function countChanges(diff: string): { additions: number; deletions: number } {
  let additions = 0;
  let deletions = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+') && !line.startsWith('+++ ')) additions += 1;
    else if (line.startsWith('-') && !line.startsWith('--- ')) deletions += 1;
  }
  return { additions, deletions };
}

/** The unified diff between two versions of a file, in git's `a/` `b/` naming (`/dev/null` when created). */
export function unifiedDiff(relative: string, before: string | null, after: string): string | undefined {
  return createTwoFilesPatch(
    before === null ? '/dev/null' : `a/${relative}`,
    `b/${relative}`,
    before ?? '',
    after,
    undefined,
    undefined,
    {
      context: 3,
      headerOptions: FILE_HEADERS_ONLY,
      timeout: DIFF_TIMEOUT_MS,
    },
  );
}

function diffOf(
  relative: string,
  before: Buffer | null,
  after: string,
): Pick<FileEdit, 'diff' | 'diff_omitted' | 'diff_truncated'> {
  if (before !== null && before.includes(0)) return { diff: null, diff_omitted: 'binary' };
  if ((before?.length ?? 0) > MAX_DIFFED_BYTES || Buffer.byteLength(after) > MAX_DIFFED_BYTES)
    return { diff: null, diff_omitted: 'too_large' };
  const diff = unifiedDiff(relative, before === null ? null : before.toString('utf8'), after);
  if (diff === undefined) return { diff: null, diff_omitted: 'timeout' };
  const storable = storableText(diff);
  if (storable.length <= MAX_DIFF_CHARS) return { diff: storable };
  // Never keep half a surrogate pair: a lone surrogate makes the relay refuse the whole event (422).
  return { diff: `${clipUnits(storable, MAX_DIFF_CHARS, '')}\n… (diff truncated)\n`, diff_truncated: true };
}

/** Writes `content` to `relative` inside the workspace and describes the edit, diff included. */
export async function writeWorkspaceFile(workspace: string, relativePath: string, content: string): Promise<FileEdit> {
  const { absolute, relative } = resolveInWorkspace(workspace, relativePath);
  const before = await readIfExists(absolute);
  await mkdir(path.dirname(absolute), { recursive: true });
  await writeFile(absolute, content);
  return describe(relative, before, content);
}

/** Describes an edit another tool made (the Claude adapter's Edit/Write results), diff included. */
export function describeTextEdit(relative: string, before: string | null, after: string): FileEdit {
  return describe(relative, before === null ? null : Buffer.from(before, 'utf8'), after);
}

function describe(relative: string, before: Buffer | null, after: string): FileEdit {
  const described = diffOf(relative, before, after);
  const counts = described.diff === null ? { additions: 0, deletions: 0 } : countChanges(described.diff);
  return { path: relative, created: before === null, bytes: Buffer.byteLength(after), ...counts, ...described };
}
