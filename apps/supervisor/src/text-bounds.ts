/** UTF-8 size of a text: the bound that matters for an env variable or a message body. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** One line of at most `maxChars` characters (code points): whitespace runs collapsed, cut with `…`. */
export function oneLine(text: string, maxChars: number): string {
  return clip(text.replace(/\s+/g, ' ').trim(), maxChars);
}

/** At most `maxChars` code points, the cut marked with `…`; never splits a surrogate pair. */
export function clip(text: string, maxChars: number): string {
  const chars = Array.from(text);
  if (chars.length <= maxChars) return text;
  return `${chars.slice(0, Math.max(0, maxChars - 1)).join('')}…`;
}

/** The last `maxChars` code points, the cut marked with a leading `…` (the end of stderr says most). */
export function tail(text: string, maxChars: number): string {
  const chars = Array.from(text);
  if (chars.length <= maxChars) return text;
  return `…${chars.slice(chars.length - Math.max(0, maxChars - 1)).join('')}`;
}

/** The longest prefix of `text` that fits `maxBytes` in UTF-8, whole code points only. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8Bytes(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
