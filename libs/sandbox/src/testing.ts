/**
 * Test helpers of @sandbox-relay/sandbox, for specs only (never imported by production code, so
 * express and the fakes stay out of app bundles). Import as `@sandbox-relay/sandbox/testing`.
 */
export {
  FakeDaytonaServer,
  type FakeDaytonaServerOptions,
  type FakeDaytonaBehaviour,
  type FakeSandbox,
  type RecordedRequest,
} from './testing/fake-daytona-server';
export { FakeSandboxProvider } from './testing/fake-sandbox-provider';
export { writeFakeWorkerScript, type FakeWorkerScriptOptions } from './testing/fake-worker-script';
