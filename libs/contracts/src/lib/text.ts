/**
 * Cutting and cleaning text, once for the whole relay. Every cut here keeps surrogate pairs whole: half
 * an emoji is a lone surrogate, which PostgreSQL cannot store and the edge refuses with a 422 (three
 * past bugs, each a cut in a different file). Bounds come in two units, said in each name:
 * - code points (`…CodePoints`): what a person counts as characters;
 * - UTF-16 units (`…Units`): what `string.length` and zod's `.max()` count, so the bound a schema checks.
 *
 * Zod-free and Node-free on purpose: the dashboard imports it (`@sandbox-relay/contracts/text`).
 */

/** The mark a cut leaves where text was removed. */
export const ELLIPSIS = '…';

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/** `end` moved back by one when the unit before it opens a surrogate pair the cut would split. */
function safeEnd(text: string, end: number): number {
  return end > 0 && isHighSurrogate(text.charCodeAt(end - 1)) ? end - 1 : end;
}

/** `start` moved on by one when it falls on the second half of a surrogate pair. */
function safeStart(text: string, start: number): number {
  return start < text.length && isLowSurrogate(text.charCodeAt(start)) ? start + 1 : start;
}

/** At most `max` UTF-16 units, `marker` included when cut; never half a surrogate pair. */
export function clipUnits(text: string, max: number, marker = ELLIPSIS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, safeEnd(text, Math.max(0, max - marker.length)))}${marker}`;
}

/** The last `max` UTF-16 units, a leading `marker` included when cut; never half a surrogate pair. */
export function tailUnits(text: string, max: number, marker = ELLIPSIS): string {
  if (text.length <= max) return text;
  return `${marker}${text.slice(safeStart(text, text.length - Math.max(0, max - marker.length)))}`;
}

/** At most `max` code points, `marker` included when cut. */
export function clipCodePoints(text: string, max: number, marker = ELLIPSIS): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - Array.from(marker).length)).join('')}${marker}`;
}

/** The last `max` code points, a leading `marker` included when cut (the end of a log says most). */
export function tailCodePoints(text: string, max: number, marker = ELLIPSIS): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const kept = Math.max(0, max - Array.from(marker).length);
  return `${marker}${chars.slice(chars.length - kept).join('')}`;
}

/** Bytes of one code point in UTF-8 (a lone surrogate is written as U+FFFD: 3 bytes). */
function utf8Size(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  return codePoint < 0x10000 ? 3 : 4;
}

/** The longest prefix of `text` that fits `maxBytes` in UTF-8, whole code points only, no marker. */
export function clipUtf8Bytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += utf8Size(char.codePointAt(0) ?? 0);
    if (bytes > maxBytes) return text.slice(0, end);
    end += char.length;
  }
  return text;
}

/** The text before the first line break (`\n`); the whole text when it has none. */
export function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}

/** Whitespace runs (line breaks included) as one space, trimmed: text for a single line. */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Whether PostgreSQL can store `text`: no NUL, no unpaired surrogate. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/**
 * `text` made storable: PostgreSQL refuses NUL and unpaired surrogates (and the edge refuses them
 * with a 422), so each becomes U+FFFD. For text the relay does not control: command output, logs.
 */
export function toStorableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').toWellFormed();
}
