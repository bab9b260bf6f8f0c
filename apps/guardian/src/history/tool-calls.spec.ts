import { errorText, isFailedResult, oneLine, readToolCall, stableJson, toolArguments, toolName } from './tool-calls';

function call(data: Record<string, unknown>) {
  const read = readToolCall(data);
  if (!read) throw new Error(`no tool call in ${JSON.stringify(data)}`);
  return read;
}
const signature = (data: Record<string, unknown>) => call(data).signature;

describe('tool call signatures', () => {
  it('treats the same arguments in a different key order as the same call, at every depth', () => {
    expect(signature({ tool: 'edit', input: { path: 'a.ts', opts: { x: 1, y: [1, 2] } } })).toBe(
      signature({ input: { opts: { y: [1, 2], x: 1 }, path: 'a.ts' }, tool: 'edit' }),
    );
  });

  it('tells different arguments, different array order and different tools apart', () => {
    const base = signature({ tool: 'bash', input: { command: 'npm test' } });
    expect(signature({ tool: 'bash', input: { command: 'npm run lint' } })).not.toBe(base);
    expect(signature({ tool: 'sh', input: { command: 'npm test' } })).not.toBe(base);
    expect(signature({ tool: 'run', input: { argv: ['a', 'b'] } })).not.toBe(
      signature({ tool: 'run', input: { argv: ['b', 'a'] } }),
    );
  });

  it('ignores volatile top-level fields: ids, call ids, clocks and counters', () => {
    const first = {
      tool: 'bash',
      command: 'npm test',
      call_id: 'c1',
      id: 'e1',
      timestamp: '2026-01-01T00:00:00Z',
      step: 4,
    };
    const again = {
      tool: 'bash',
      command: 'npm test',
      call_id: 'c2',
      id: 'e2',
      timestamp: '2026-01-01T00:01:00Z',
      step: 5,
    };
    expect(signature(first)).toBe(signature(again));
  });

  it('ignores call ids nested inside the arguments but keeps a nested `id`, which is an argument', () => {
    expect(signature({ tool: 'x', input: { q: 1, tool_use_id: 'a' } })).toBe(
      signature({ tool: 'x', input: { q: 1, tool_use_id: 'b' } }),
    );
    expect(signature({ tool: 'get_issue', input: { id: 7 } })).not.toBe(
      signature({ tool: 'get_issue', input: { id: 8 } }),
    );
  });

  it('prefers an argument container over the rest of event_data', () => {
    expect(toolArguments({ tool: 'bash', input: { command: 'ls' }, description: 'list' })).toEqual({ command: 'ls' });
    expect(toolArguments({ name: 'grep', args: ['-r', 'x'] })).toEqual(['-r', 'x']);
    expect(toolArguments({ tool: 'bash', arguments: null, command: 'ls', cwd: '/w', call_id: 'c' })).toEqual({
      command: 'ls',
      cwd: '/w',
    });
    // Without a container, everything that is not the tool name or volatile is an argument.
    expect(signature({ tool: 'bash', command: 'ls', cwd: '/a' })).not.toBe(
      signature({ tool: 'bash', command: 'ls', cwd: '/b' }),
    );
  });

  it('reads the tool name from tool, name or tool_name, and copes without one', () => {
    expect(toolName({ tool: 'bash' })).toBe('bash');
    expect(toolName({ name: 'read_file' })).toBe('read_file');
    expect(toolName({ tool_name: 'grep' })).toBe('grep');
    expect(toolName({ tool: 42, name: '  ' })).toBe('unknown tool');
  });

  it('does not identify a call that names no tool', () => {
    expect(readToolCall({ seq: 1 })).toBeNull();
    expect(readToolCall({ input: { command: 'ls' } })).toBeNull();
    expect(readToolCall({ tool: '  ' })).toBeNull();
  });

  it('summarizes the telling argument for the intervention text', () => {
    expect(call({ tool: 'bash', input: { command: 'npm   test\n--watch', description: 'd' } }).summary).toBe(
      'command: npm test --watch',
    );
    expect(call({ tool: 'bash', input: { command: ['git', 'status'] } }).summary).toBe('command: git status');
    expect(call({ tool: 'read', input: { file_path: '/w/a.ts' } }).summary).toBe('file_path: /w/a.ts');
    expect(call({ tool: 'bash', input: 'make `all`' }).summary).toBe("input: make 'all'");
    expect(call({ tool: 'noop' }).summary).toBe('no arguments');
    expect(call({ tool: 'calc', input: { b: 2, a: 1 } }).summary).toBe('arguments: {"a":1,"b":2}');
    expect(call({ tool: 'w', input: { content: 'x'.repeat(10_000) } }).summary.length).toBeLessThanOrEqual(131);
  });

  it('never throws on odd shapes', () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 100; i += 1) cursor = (cursor.next = {}) as Record<string, unknown>;
    for (const data of [
      {},
      { input: deep },
      { input: [null, undefined, 1n] },
      { tool: null, input: 0 },
      { input: { a: undefined } },
    ]) {
      expect(() => readToolCall(data as Record<string, unknown>)).not.toThrow();
    }
    expect(stableJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});

describe('isFailedResult', () => {
  it.each([
    [{ success: false }, true],
    [{ success: true, error: 'warning printed on stderr', exit_code: 1 }, false],
    [{ is_error: true }, true],
    [{ exit_code: 2 }, true],
    [{ exit_code: '127' }, true],
    [{ exit_code: 0, output: 'ok' }, false],
    [{ exit_code: '0' }, false],
    [{ error: 'ENOENT' }, true],
    [{ error: { message: 'bad' } }, true],
    [{ error: '' }, false],
    [{ error: null }, false],
    [{ status: 'FAILED' }, true],
    [{ status: 'ok' }, false],
    [{ success: false, interrupted: true, exit_code: null, signal: 'SIGTERM' }, false],
    // Issue 15: interrupted is its own outcome, never a failure for the error storm, whatever else the result says.
    [{ success: false, interrupted: true, exit_code: 130, error: 'interrupted' }, false],
    [{}, false],
  ])('%j → %s', (data, failed) => {
    expect(isFailedResult(data)).toBe(failed);
  });
});

describe('errorText', () => {
  it('takes the error, then the message, then the end of stderr or output', () => {
    expect(errorText({ error: 'ENOENT: no such file' })).toBe('ENOENT: no such file');
    expect(errorText({ error: { message: 'rate limited' } })).toBe('rate limited');
    expect(errorText({ message: 'model overloaded' })).toBe('model overloaded');
    const stderr = `${'noise '.repeat(100)}Error: Cannot find module 'x'`;
    expect(errorText({ stderr })?.endsWith("Error: Cannot find module 'x'")).toBe(true);
    expect(errorText({ stderr })?.length).toBeLessThanOrEqual(200);
    expect(errorText({ exit_code: 3 })).toBe('exit code 3');
    expect(errorText({})).toBeNull();
  });

  it('oneLine collapses whitespace and truncates', () => {
    expect(oneLine(' a\n\tb ', 10)).toBe('a b');
    expect(oneLine('abcdefghij', 5)).toBe('abcd…');
  });
});
