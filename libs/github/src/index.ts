export * from './lib/github-client';
export * from './lib/github-errors';
export { OctokitGitHubClient, type OctokitGitHubClientOptions } from './lib/octokit-client';
