import { clip, oneLine, tail, truncateUtf8, utf8Bytes } from './text-bounds';

describe('text bounds', () => {
  it('collapses whitespace and clips to one line', () => {
    expect(oneLine('  a\n\n b\tc  ', 10)).toBe('a b c');
    expect(oneLine('abcdefghij', 5)).toBe('abcd…');
  });

  it('never splits a surrogate pair', () => {
    expect(clip('😀😀😀', 2)).toBe('😀…');
    expect(tail('😀😀😀', 2)).toBe('…😀');
    expect(clip('short', 10)).toBe('short');
    expect(tail('short', 10)).toBe('short');
  });

  it('cuts to a UTF-8 byte budget on whole code points', () => {
    expect(truncateUtf8('héllo', 2)).toBe('h');
    expect(truncateUtf8('héllo', 3)).toBe('hé');
    expect(truncateUtf8('😀x', 3)).toBe('');
    expect(truncateUtf8('ok', 10)).toBe('ok');
    expect(utf8Bytes('é😀')).toBe(6);
  });
});
