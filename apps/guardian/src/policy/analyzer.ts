import type { Finding } from './detectors';
import type { TrajectoryView } from '../history/trajectory';

/**
 * An optional second opinion on a finding, e.g. an LLM reading the recent events. It may rewrite the
 * intervention text, or veto the intervention by answering null. The rules work without one.
 */
export interface InterventionAnalyzer {
  refine(finding: Finding, trajectory: TrajectoryView): Promise<string | null>;
}

/** The default: the detector's own text, never a veto. */
export class RuleAnalyzer implements InterventionAnalyzer {
  refine(finding: Finding): Promise<string | null> {
    return Promise.resolve(finding.message);
  }
}
