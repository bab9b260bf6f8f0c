import { counter, histogram } from '@sandbox-relay/service-kit';

/** Every intervention decision, by detector (looping, error_storm, stuck) and outcome (delivered, cooling, vetoed, ended, failed, lookup_failed). */
export const interventions = counter<'detector' | 'outcome'>({
  name: 'relay_guardian_interventions_total',
  help: 'Guardian intervention decisions, by detector and outcome (delivered, cooling, vetoed, ended, failed, lookup_failed).',
  labelNames: ['detector', 'outcome'],
});

/**
 * How far behind the live stream the guardian runs: from an event's `timestamp` (its commit) to the guardian
 * having applied it. Read with `relay_guardian_event_lag_seconds_count` against the events stored, it also
 * shows a backlog building up.
 */
export const eventLag = histogram({
  name: 'relay_guardian_event_lag_seconds',
  help: 'From an event being stored (its timestamp) to the guardian having applied it, in seconds.',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});
