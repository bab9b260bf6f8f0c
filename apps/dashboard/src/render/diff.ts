import { parsePatch } from 'diff';

export type DiffLineKind = 'add' | 'del' | 'ctx' | 'hunk' | 'note';

export interface DiffLine {
  kind: DiffLineKind;
  text: string;
  /** Line number in the old file (deleted and context lines). */
  oldNo?: number;
  /** Line number in the new file (added and context lines). */
  newNo?: number;
}

export interface RenderedDiff {
  /** The file, from the patch's headers (`b/` path of the new file, or the old one for a deletion). */
  file: string | null;
  lines: DiffLine[];
  additions: number;
  deletions: number;
  /** Lines left out past `maxLines`. */
  hidden: number;
}

/**
 * A unified diff as numbered lines a person reads: hunks with old and new line numbers, additions and
 * deletions marked. Parsing is the `diff` library's (`parsePatch`); only the layout is ours.
 */
export function renderDiff(patch: string, maxLines = Number.POSITIVE_INFINITY): RenderedDiff {
  let parsed: ReturnType<typeof parsePatch>;
  try {
    parsed = parsePatch(patch);
  } catch {
    // Not a patch the library understands (cut mid-hunk by a size bound, say): show it as it is.
    return plain(patch, maxLines);
  }
  const lines: DiffLine[] = [];
  let additions = 0;
  let deletions = 0;
  let file: string | null = null;
  for (const part of parsed) {
    file ??= stripPrefix(part.newFileName && part.newFileName !== '/dev/null' ? part.newFileName : part.oldFileName);
    for (const hunk of part.hunks) {
      lines.push({ kind: 'hunk', text: `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@` });
      let oldNo = hunk.oldStart;
      let newNo = hunk.newStart;
      for (const raw of hunk.lines) {
        const marker = raw[0];
        const text = raw.slice(1);
        if (marker === '+') {
          additions += 1;
          lines.push({ kind: 'add', text, newNo: newNo++ });
        } else if (marker === '-') {
          deletions += 1;
          lines.push({ kind: 'del', text, oldNo: oldNo++ });
        } else if (marker === '\\') {
          lines.push({ kind: 'note', text: raw.slice(2) });
        } else {
          lines.push({ kind: 'ctx', text, oldNo: oldNo++, newNo: newNo++ });
        }
      }
    }
  }
  if (lines.length === 0 && patch.trim() !== '' && parsed.every((part) => part.hunks.length === 0)) {
    const fallback = plain(patch, maxLines);
    return { ...fallback, file };
  }
  return cut({ file, lines, additions, deletions, hidden: 0 }, maxLines);
}

function plain(patch: string, maxLines: number): RenderedDiff {
  const lines = patch.split('\n').map((text): DiffLine => ({ kind: 'ctx', text }));
  return cut({ file: null, lines, additions: 0, deletions: 0, hidden: 0 }, maxLines);
}

function cut(diff: RenderedDiff, maxLines: number): RenderedDiff {
  if (diff.lines.length <= maxLines) return diff;
  return { ...diff, lines: diff.lines.slice(0, maxLines), hidden: diff.lines.length - maxLines };
}

function stripPrefix(name: string | undefined): string | null {
  if (!name) return null;
  return name.replace(/^[ab]\//, '');
}
