import { preview, tailText } from './text';

describe('preview and tailText', () => {
  it('cut to the bound, marked with an ellipsis', () => {
    expect(preview('abcdef', 4)).toBe('abc…');
    expect(tailText('abcdef', 4)).toBe('…def');
    expect(preview('abc', 3)).toBe('abc');
    expect(tailText('abc', 3)).toBe('abc');
  });

  it('never keep half of a surrogate pair', () => {
    // '🎉' is two UTF-16 units; each cut below would fall between them.
    expect(preview('ab🎉cd', 4)).toBe('ab…');
    expect(tailText('ab🎉cd', 4)).toBe('…cd');
    for (let max = 2; max < 8; max += 1) {
      expect(preview('a🎉b🎉c🎉', max).isWellFormed()).toBe(true);
      expect(tailText('🎉a🎉b🎉c', max).isWellFormed()).toBe(true);
    }
  });
});
