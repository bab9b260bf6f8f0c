import { looksLikePlan, parsePlan, parsePlanJson } from './shell-plan.schema';

describe('shell plans', () => {
  it('accepts the array form with interactive defaults', () => {
    const parsed = parsePlan([
      { run: 'npm test' },
      { write: { path: 'a.txt', content: 'x' } },
      { say: 'hi' },
      { think: 'hmm' },
      { sleep_ms: 5 },
    ]);
    expect(parsed).toEqual({
      ok: true,
      plan: {
        steps: [
          { run: 'npm test' },
          { write: { path: 'a.txt', content: 'x' } },
          { say: 'hi' },
          { think: 'hmm' },
          { sleep_ms: 5 },
        ],
        complete_when_done: false,
        stop_on_failure: true,
      },
    });
  });

  it('accepts the object form with options and argv commands', () => {
    const parsed = parsePlanJson(
      '{"steps": [{"run": ["node", "-v"], "timeout_ms": 500, "continue_on_error": true}], "complete_when_done": true}',
    );
    expect(parsed).toMatchObject({
      ok: true,
      plan: { complete_when_done: true, stop_on_failure: true, steps: [{ run: ['node', '-v'], timeout_ms: 500 }] },
    });
  });

  it.each([
    [[{ run: '' }], /^steps\[0\]\.run: /],
    [[{ run: 'ls', say: 'x' }], /^steps\[0\]: must have exactly one of .* \(found run, say\)$/],
    [[{ run: 'ls', extra: 1 }], /^steps\[0\]: .*extra/],
    [[{ sleep_ms: -1 }], /^steps\[0\]\.sleep_ms: /],
    [[42], /^steps\[0\]: must be an object$/],
    [{ steps: [], complete: true }, /^plan: .*complete/],
    ['run this', /^plan: /],
  ])('explains what is wrong with %j', (plan, message) => {
    const parsed = parsePlan(plan);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });

  it('tells plans from plain text', () => {
    expect(looksLikePlan(' [{"say": "hi"}] ')).toBe(true);
    expect(looksLikePlan('{"steps": []}')).toBe(true);
    expect(looksLikePlan('please fix the tests')).toBe(false);
    expect(looksLikePlan('[WIP] not json')).toBe(false);
    expect(looksLikePlan('42')).toBe(false);
  });
});
