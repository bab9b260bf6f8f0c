import type { ServiceModule } from '@sandbox-relay/service-kit';
import { createIngestService, type IngestService, type IngestServiceDeps } from './ingest.service';

export interface IngestModule extends ServiceModule {
  ingest: IngestService;
}

/**
 * The ingest as a process composes it: the event edge; with OMOIOS_BRIDGE and a bridge connection, taking
 * in the original's bus (ready only once it does; it starts with serving and stops first on shutdown).
 */
export function createIngestModule(deps: IngestServiceDeps): IngestModule {
  const ingest = createIngestService(deps);
  const bridge = ingest.bridge;
  return {
    name: 'ingest',
    ingest,
    router: ingest.router,
    readiness: bridge ? [{ name: 'omoios-bridge', check: () => bridge.check() }] : [],
    start: async () => bridge?.start(),
    shutdown: {
      // Stop taking in the original's bus before the event log drains (what it took in is committed).
      beforeHttpClose: [{ name: 'omoios-bridge', run: () => bridge?.stop() }],
      // Every event already accepted is committed (and handed to the publisher) before Redis closes.
      afterHttpClose: [{ name: 'event-log', run: () => ingest.drain() }],
    },
  };
}
