import { DaytonaProvider, LocalProcessProvider, workerBundlePath, type SandboxProvider } from '@sandbox-relay/sandbox';
import type { SupervisorEnv } from './env';

/**
 * The provider the configuration names: local child processes by default, Daytona when configured.
 * The local provider keeps its children in this process's memory, with a handle for each on disk under
 * its workspace root: supervisors on one machine sharing that root (the standalone, `npm run cluster`'s
 * replicas) stop each other's workers through it; replicas on several machines need Daytona.
 */
export function createSandboxProvider(env: SupervisorEnv, kind: 'local' | 'daytona'): SandboxProvider {
  const bundle = workerBundlePath(env.WORKER_BUNDLE);
  if (kind === 'daytona') {
    return new DaytonaProvider({
      apiKey: env.DAYTONA_API_KEY ?? '',
      apiUrl: env.DAYTONA_API_URL,
      target: env.DAYTONA_TARGET,
      snapshot: env.DAYTONA_SNAPSHOT,
      workerBundlePath: bundle,
    });
  }
  return new LocalProcessProvider({
    workerScript: bundle,
    baseEnv: { PATH: env.PATH, HOME: env.HOME, LANG: env.LANG },
    workspaceRoot: env.LOCAL_WORKSPACE_ROOT,
  });
}
