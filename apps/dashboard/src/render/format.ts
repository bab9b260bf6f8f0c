import { ELLIPSIS, clipUnits, firstLine } from '@sandbox-relay/contracts/text';

/** "4 s", "3 min", "2 h", "5 d": how long ago, for lists that refresh every second. */
export function formatAge(fromIso: string | null, nowMs: number): string {
  if (!fromIso) return '—';
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

/** "850 ms", "3.2 s", "4 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** `agent.tool_use` → "Tool use", `PR_OPENED` → "PR opened": a type name a person reads. */
export function humanizeType(eventType: string): string {
  const last = eventType.includes('.') ? eventType.slice(eventType.lastIndexOf('.') + 1) : eventType;
  const words = last.replace(/[_-]+/g, ' ').trim().split(/\s+/);
  return words
    .map((word, index) => {
      if (/^(PR|CI|ID|URL|API)$/i.test(word)) return word.toUpperCase();
      const lower = word.toLowerCase();
      return index === 0 ? lower.charAt(0).toUpperCase() + lower.slice(1) : lower;
    })
    .join(' ');
}

/** The first line of `text`, at most `max` characters, with an ellipsis when cut. */
export function oneLine(text: string, max = 160): string {
  const first = firstLine(text);
  const cut = clipUnits(first, max, '');
  return cut !== text ? `${cut}${ELLIPSIS}` : first;
}

/**
 * What a task's agents cost so far, as its workers reported it (`agent.completed`'s `cost_usd` and
 * tokens, summed by the supervisor): `$0.63 · 507 in / 53 out tokens`; empty while nothing was reported.
 */
export function formatCost(usage: { cost_usd: number; input_tokens: number; output_tokens: number }): string {
  if (usage.cost_usd === 0 && usage.input_tokens === 0 && usage.output_tokens === 0) return '';
  const dollars =
    usage.cost_usd < 0.01 && usage.cost_usd > 0 ? `$${usage.cost_usd.toFixed(4)}` : `$${usage.cost_usd.toFixed(2)}`;
  return `${dollars} · ${usage.input_tokens.toLocaleString('en-US')} in / ${usage.output_tokens.toLocaleString('en-US')} out tokens`;
}
