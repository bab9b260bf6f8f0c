/**
 * The relay refuses text PostgreSQL cannot store (NUL, unpaired surrogates) with a 422, and the
 * outbox drops 4xx events: command output and file content go through this first so a binary byte in
 * stdout costs a replacement character, not the whole event.
 */
export { toStorableText as storableText } from '@sandbox-relay/contracts';

/**
 * The first `max` UTF-16 units, with an ellipsis when cut (for previews in events and logs). The cut
 * never keeps half of a surrogate pair: the relay refuses a lone surrogate with a 422 for the whole event.
 */
export { clipUnits as preview } from '@sandbox-relay/contracts';

/** The end of `text` (a command's diagnosis is usually at the end of its output); never half a pair. */
export { tailUnits as tailText } from '@sandbox-relay/contracts';

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
