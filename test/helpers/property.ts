/**
 * Parameters for the property tests whose every run writes real files (MBs of
 * channel log, a tree of tailed files). A failure found there shrinks by
 * re-running the whole scenario, thousands of times if left alone: one CI run
 * spent 30 minutes so. Past the budget fast-check stops shrinking and reports the
 * failure it has, with the seed and path that replay it; a run that is merely
 * slow and has not failed is cut short as a pass only after the budget.
 */
export const HEAVY_PROPERTY_BUDGET_MS = 120_000;

export const heavy = (numRuns: number): { numRuns: number; interruptAfterTimeLimit: number } => ({
  numRuns,
  interruptAfterTimeLimit: HEAVY_PROPERTY_BUDGET_MS,
});
