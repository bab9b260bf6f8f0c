import type { ServiceModule } from '@sandbox-relay/service-kit';
import { createSupervisorService, type SupervisorService, type SupervisorServiceDeps } from './supervisor.service';

export interface SupervisorModule extends ServiceModule {
  supervisor: SupervisorService;
}

/** The supervisor as a process composes it: the task edge, and the sweep (ready only while it sweeps). */
export function createSupervisorModule(deps: SupervisorServiceDeps): SupervisorModule {
  const supervisor = createSupervisorService(deps);
  return {
    name: 'supervisor',
    supervisor,
    router: supervisor.router,
    readiness: [
      {
        name: 'sweep',
        check: async () => {
          if (!supervisor.running()) throw new Error('not sweeping');
        },
      },
    ],
    start: async () => supervisor.start(),
    // Stops sweeping, finishes restarts and stops in flight, commits the events they wrote.
    shutdown: { afterHttpClose: [{ name: 'supervisor', run: () => supervisor.close() }] },
  };
}
