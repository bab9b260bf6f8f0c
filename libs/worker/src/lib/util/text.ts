/**
 * The relay refuses text PostgreSQL cannot store (NUL, unpaired surrogates) with a 422, and the
 * outbox drops 4xx events: command output and file content go through this first so a binary byte in
 * stdout costs a replacement character, not the whole event.
 */
export function storableText(text: string): string {
  return text.replace(/\u0000/g, '\uFFFD').toWellFormed();
}

/** The first `max` characters, with an ellipsis when cut (for previews in events and logs). */
export function preview(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The end of `text` (a command's diagnosis is usually at the end of its output). */
export function tailText(text: string, max: number): string {
  return text.length > max ? `…${text.slice(text.length - max + 1)}` : text;
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
