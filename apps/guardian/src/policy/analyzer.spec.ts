import { RuleAnalyzer, type InterventionAnalyzer } from './analyzer';
import { Trajectory } from '../history/trajectory';

describe('RuleAnalyzer', () => {
  it('returns the rule text and never vetoes', async () => {
    const analyzer: InterventionAnalyzer = new RuleAnalyzer();
    const finding = { detector: 'stuck' as const, reason: 'r', message: 'Continue with the next step.' };
    await expect(analyzer.refine(finding, new Trajectory('sandbox', 'sb', 0).snapshot())).resolves.toBe(
      'Continue with the next step.',
    );
  });
});
