import { ConfigError } from '@sandbox-relay/service-kit';
import { branchWorkflowConfig, parseBranchWorkflowEnv } from './env';

function problems(source: Record<string, string>): string[] {
  try {
    parseBranchWorkflowEnv(source);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('branch-workflow env', () => {
  it('runs without GitHub by default, on port 8086, merging by squash', () => {
    const env = parseBranchWorkflowEnv({});
    expect(env).toMatchObject({ PORT: 8086, GITHUB_MERGE_METHOD: 'squash', GITHUB_API_URL: 'https://api.github.com' });
    expect(branchWorkflowConfig(env).github).toBeUndefined();
  });

  it('takes token and repository together', () => {
    const env = parseBranchWorkflowEnv({
      GITHUB_TOKEN: 'ghs_x',
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_API_URL: 'http://127.0.0.1:9/api/v3',
    });
    expect(branchWorkflowConfig(env).github).toMatchObject({
      token: 'ghs_x',
      repository: 'acme/app',
      apiUrl: 'http://127.0.0.1:9/api/v3',
      writeIntervalMs: 1_000,
    });
    expect(problems({ GITHUB_TOKEN: 'ghs_x' })).toEqual([
      'GITHUB_REPOSITORY: GITHUB_TOKEN and GITHUB_REPOSITORY go together: set both, or neither to run without GitHub',
    ]);
    expect(problems({ GITHUB_REPOSITORY: 'acme/app' })[0]).toMatch(/^GITHUB_TOKEN: /);
  });

  it('uses the title for slugs unless BRANCH_NAMER=anthropic, which needs its key', () => {
    expect(branchWorkflowConfig(parseBranchWorkflowEnv({ ANTHROPIC_API_KEY: 'sk-ant-x' })).namer).toBeUndefined();
    const env = parseBranchWorkflowEnv({
      BRANCH_NAMER: 'anthropic',
      ANTHROPIC_API_KEY: 'sk-ant-x',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
    });
    expect(branchWorkflowConfig(env).namer).toEqual({
      apiKey: 'sk-ant-x',
      baseUrl: 'http://127.0.0.1:9',
      model: 'claude-haiku-4-5',
      timeoutMs: 5_000,
      maxRetries: 1,
    });
    expect(problems({ BRANCH_NAMER: 'anthropic' })).toEqual([
      'ANTHROPIC_API_KEY: BRANCH_NAMER=anthropic needs ANTHROPIC_API_KEY',
    ]);
    expect(
      problems({ BRANCH_NAMER: 'gpt', BRANCH_NAMER_TIMEOUT_MS: '5' })
        .map((problem) => problem.split(':')[0])
        .sort(),
    ).toEqual(['BRANCH_NAMER', 'BRANCH_NAMER_TIMEOUT_MS']);
  });

  it('names every bad variable', () => {
    const names = problems({
      GITHUB_REPOSITORY: 'not a repo',
      GITHUB_TOKEN: 't',
      GITHUB_API_URL: 'ftp://x',
      GITHUB_MERGE_METHOD: 'octopus',
      PORT: 'x',
    }).map((problem) => problem.split(':')[0]);
    expect(names.sort()).toEqual(['GITHUB_API_URL', 'GITHUB_MERGE_METHOD', 'GITHUB_REPOSITORY', 'PORT']);
  });
});
