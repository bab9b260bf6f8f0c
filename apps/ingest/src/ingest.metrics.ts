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

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5,
];

/** The event log's statements: one per group commit, from sent to committed. */
export const eventLogStatementSeconds = histogram({
  name: 'relay_event_log_statement_seconds',
  help: 'Round trip of each event log statement (one per group commit): the wait for the id counter, the insert and the commit.',
  buckets: LATENCY_BUCKETS,
});

/** Each append, from accepted by the log to committed: its statement plus its wait for one. */
export const eventLogAppendSeconds = histogram({
  name: 'relay_event_log_append_seconds',
  help: 'Time from an append (a POST, single or batch) reaching the event log to its commit: its statement plus the wait for a statement slot.',
  buckets: LATENCY_BUCKETS,
});
