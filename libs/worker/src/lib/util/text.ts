/**
 * The relay refuses text PostgreSQL cannot store (NUL, unpaired surrogates) with a 422, and the
 * outbox drops 4xx events: command output and file content go through this first so a binary byte in
 * stdout costs a replacement character, not the whole event.
 */
export { toStorableText as storableText } from '@sandbox-relay/contracts';

/** Whether the UTF-16 unit at `index` is the first half of a surrogate pair. */
function isHighSurrogate(text: string, index: number): boolean {
  const unit = text.charCodeAt(index);
  return unit >= 0xd800 && unit <= 0xdbff;
}

/**
 * The first `max` characters, with an ellipsis when cut (for previews in events and logs). The cut
 * never keeps half of a surrogate pair: the relay refuses a lone surrogate with a 422 for the whole event.
 */
export function preview(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = isHighSurrogate(text, max - 2) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/** The end of `text` (a command's diagnosis is usually at the end of its output); never half a pair. */
export function tailText(text: string, max: number): string {
  if (text.length <= max) return text;
  const start = isHighSurrogate(text, text.length - max) ? text.length - max + 2 : text.length - max + 1;
  return `…${text.slice(start)}`;
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
