/**
 * Imported first by the dashboard so React and its reconciler load their
 * production builds: the development ones cost about 2× the CPU per frame
 * (extra checks, performance marks, owner stacks) and a dashboard that runs
 * beside the agent should cost as little as possible. An explicit
 * NODE_ENV (e.g. `development` while debugging the UI) is respected.
 * ES modules evaluate their imports in order, so this runs before `react`.
 */
process.env.NODE_ENV ??= 'production';
