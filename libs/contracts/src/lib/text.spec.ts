import {
  clipCodePoints,
  clipUnits,
  clipUtf8Bytes,
  collapseWhitespace,
  firstLine,
  isStorableText,
  tailCodePoints,
  tailUnits,
  toStorableText,
} from './text';

// '🎉' is two UTF-16 units (a surrogate pair) and one code point.
const PARTY = '🎉';

describe('clipUnits and tailUnits (UTF-16 bounds)', () => {
  it('cut to the bound, the marker included', () => {
    expect(clipUnits('abcdef', 4)).toBe('abc…');
    expect(tailUnits('abcdef', 4)).toBe('…def');
    expect(clipUnits('abc', 3)).toBe('abc');
    expect(tailUnits('abc', 3)).toBe('abc');
    expect(clipUnits('abcdef', 4, '')).toBe('abcd');
    expect(clipUnits('abcdef', 5, ' [+]')).toBe('a [+]');
  });

  it('never keep half of a surrogate pair when an emoji sits at the cut', () => {
    expect(clipUnits(`ab${PARTY}cd`, 4)).toBe('ab…');
    expect(tailUnits(`ab${PARTY}cd`, 4)).toBe('…cd');
    expect(clipUnits(`ab${PARTY}cd`, 3, '')).toBe('ab');
    for (let max = 0; max < 10; max += 1) {
      for (const marker of ['…', '', '...']) {
        const clipped = clipUnits(`a${PARTY}b${PARTY}c${PARTY}`, max, marker);
        const tailed = tailUnits(`${PARTY}a${PARTY}b${PARTY}c`, max, marker);
        expect(clipped.isWellFormed() && tailed.isWellFormed()).toBe(true);
        expect(Math.max(clipped.length, tailed.length)).toBeLessThanOrEqual(Math.max(max, marker.length));
      }
    }
  });

  it('leave lone surrogates elsewhere as they were (toStorableText is the cleaner)', () => {
    expect(clipUnits('\uD800abcdef', 4)).toBe('\uD800ab…');
  });
});

describe('clipCodePoints and tailCodePoints', () => {
  it('count an emoji as one character', () => {
    expect(clipCodePoints(`${PARTY}${PARTY}${PARTY}`, 2)).toBe(`${PARTY}…`);
    expect(tailCodePoints(`${PARTY}${PARTY}${PARTY}`, 2)).toBe(`…${PARTY}`);
    expect(clipCodePoints(`${PARTY}${PARTY}`, 2)).toBe(`${PARTY}${PARTY}`);
    expect(tailCodePoints('short', 10)).toBe('short');
    expect(clipCodePoints('abc', 0)).toBe('…');
  });
});

describe('clipUtf8Bytes', () => {
  it('cuts to a UTF-8 byte budget on whole code points', () => {
    expect(clipUtf8Bytes('héllo', 2)).toBe('h');
    expect(clipUtf8Bytes('héllo', 3)).toBe('hé');
    expect(clipUtf8Bytes(`${PARTY}x`, 3)).toBe('');
    expect(clipUtf8Bytes(`${PARTY}x`, 4)).toBe(PARTY);
    expect(clipUtf8Bytes('ok', 10)).toBe('ok');
  });

  it('counts as many bytes as Node writes, lone surrogates included', () => {
    for (const text of ['a\uD800b', `é${PARTY}€\u0000`, '\uDC00']) {
      const bytes = Buffer.byteLength(text, 'utf8');
      expect(clipUtf8Bytes(text, bytes)).toBe(text);
      expect(clipUtf8Bytes(text, bytes - 1)).not.toBe(text);
    }
  });
});

describe('firstLine and collapseWhitespace', () => {
  it('keep one line', () => {
    expect(firstLine('a b\nc\nd')).toBe('a b');
    expect(firstLine('no break')).toBe('no break');
    expect(firstLine('\nafter')).toBe('');
    expect(collapseWhitespace('  a\n\n b\tc  ')).toBe('a b c');
  });
});

describe('isStorableText and toStorableText', () => {
  it('refuse NUL and unpaired surrogates, accept pairs', () => {
    expect(isStorableText(`ok ${PARTY}`)).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('a\uD800b')).toBe(false);
    expect(isStorableText('a\uDC00')).toBe(false);
  });

  it('replace each NUL and lone surrogate by U+FFFD, leaving pairs whole', () => {
    expect(toStorableText(`a\u0000b\uD800c\uDC00${PARTY}`)).toBe(`a\uFFFDb\uFFFDc\uFFFD${PARTY}`);
    expect(isStorableText(toStorableText('\u0000\uD83C'))).toBe(true);
  });

  it('make any cut of command output storable', () => {
    const output = `${PARTY}\u0000x${PARTY}`;
    for (let max = 0; max <= output.length; max += 1) {
      expect(isStorableText(toStorableText(tailUnits(output, max)))).toBe(true);
      expect(isStorableText(toStorableText(clipUnits(output, max)))).toBe(true);
    }
  });
});
