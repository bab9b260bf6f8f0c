import type { ServiceModule } from '@sandbox-relay/service-kit';
import { createGuardianService, type GuardianService, type GuardianServiceDeps } from './guardian.service';

export interface GuardianModule extends ServiceModule {
  guardian: GuardianService;
}

/** The guardian as a process composes it: no routes (health only), observing events and sweeping once serving. */
export function createGuardianModule(deps: GuardianServiceDeps): GuardianModule {
  const guardian = createGuardianService(deps);
  return {
    name: 'guardian',
    guardian,
    readiness: [],
    start: async () => guardian.start(),
    // Stops observing, then lets its interventions and their events finish.
    shutdown: { beforeHttpClose: [{ name: 'guardian', run: () => guardian.close() }] },
  };
}
