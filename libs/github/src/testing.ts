/**
 * Test helpers of @sandbox-relay/github, for specs only (never imported by production code, so
 * express and the fake stay out of app bundles). Import as `@sandbox-relay/github/testing`.
 */
export {
  FakeGitHubServer,
  type FakeGitHubServerOptions,
  type InjectedFailure,
  type RecordedGitHubRequest,
} from './testing/fake-github-server';
export type { FakePull, FakeRepo } from './testing/fake-github-state';
