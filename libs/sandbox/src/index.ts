export * from './lib/sandbox-provider';
export * from './lib/sandbox-errors';
export { LocalProcessProvider, type LocalProcessProviderOptions } from './lib/local/local-process-provider';
export {
  DaytonaProvider,
  DAYTONA_LABELS,
  DEFAULT_DAYTONA_RESOURCES,
  DEFAULT_DAYTONA_SNAPSHOT,
  WORKER_SESSION_ID,
  type DaytonaProviderOptions,
} from './lib/daytona/daytona-provider';
export { workerBundlePath } from './lib/worker-bundle-path';
