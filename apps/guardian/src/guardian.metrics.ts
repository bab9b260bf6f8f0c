import { counter } from '@sandbox-relay/service-kit';

/** Every intervention decision, by detector (looping, error_storm, stuck) and outcome (delivered, cooling, vetoed, ended, failed, lookup_failed). */
export const interventions = counter<'detector' | 'outcome'>({
  name: 'relay_guardian_interventions_total',
  help: 'Guardian intervention decisions, by detector and outcome (delivered, cooling, vetoed, ended, failed, lookup_failed).',
  labelNames: ['detector', 'outcome'],
});
