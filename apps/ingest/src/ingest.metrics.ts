import { counter, histogram, sampledGauge } from '@sandbox-relay/service-kit';

/** Events acknowledged (committed) by the ingest edge, by endpoint (`single`, `batch`). */
export const eventsIngested = counter<'endpoint'>({
  name: 'relay_events_ingested_total',
  help: 'Events committed and acknowledged by the ingest edge, by endpoint (single, batch).',
  labelNames: ['endpoint'],
});

/** Events per accepted batch POST. */
export const ingestBatchSize = histogram({
  name: 'relay_ingest_batch_size',
  help: 'Events per accepted batch POST.',
  buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
});

/** Events accepted by the ingest's event log and not yet committed (summed over this process's logs). */
export const eventLogQueueDepth = sampledGauge({
  name: 'relay_event_log_queued_events',
  help: 'Events accepted by the ingest event log and not yet committed to PostgreSQL (group commit queue depth).',
});
