import { oneLine } from './format';

describe('oneLine', () => {
  it('keeps the first line, at most `max` characters, with an ellipsis when anything was left out', () => {
    expect(oneLine('npm test')).toBe('npm test');
    expect(oneLine('npm test\nnpm run lint')).toBe('npm test…');
    expect(oneLine('abcdef', 4)).toBe('abcd…');
    expect(oneLine('abcd', 4)).toBe('abcd');
  });

  it('never cuts an emoji in half', () => {
    expect(oneLine('abc🎉def', 4)).toBe('abc…');
    expect(oneLine('abc🎉def', 4).isWellFormed()).toBe(true);
  });
});
