import { clipCodePoints, collapseWhitespace } from '@sandbox-relay/contracts';

/**
 * The supervisor's names for the contracts' text cuts (characters are code points here). `clip`,
 * `tail` and `truncateUtf8` are the contracts' `clipCodePoints`, `tailCodePoints` and `clipUtf8Bytes`.
 */
export {
  clipCodePoints as clip,
  tailCodePoints as tail,
  clipUtf8Bytes as truncateUtf8,
} from '@sandbox-relay/contracts';

/** UTF-8 size of a text: the bound that matters for an env variable or a message body. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** One line of at most `maxChars` characters (code points): whitespace runs collapsed, cut with `…`. */
export function oneLine(text: string, maxChars: number): string {
  return clipCodePoints(collapseWhitespace(text), maxChars);
}
