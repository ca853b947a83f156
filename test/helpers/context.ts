import { ComponentContext, type Entry } from '../../src/config/context.ts';
import { Problems } from '../../src/config/problems.ts';

/**
 * A component's keys as the config layer hands them over: a ComponentContext
 * under `prefix` whose keys sit on consecutive lines from `firstLine` (the
 * component's own line, for problems about it as a whole, is `ctxLine`).
 */
export function contextOf(
  prefix: string,
  props: Record<string, string | number | boolean>,
  firstLine = 2,
  ctxLine = firstLine - 1,
): { ctx: ComponentContext; problems: Problems } {
  const problems = new Problems('test.properties');
  const entries = new Map<string, Entry>();
  let line = firstLine;
  for (const [k, v] of Object.entries(props)) entries.set(k, { value: String(v), line: line++ });
  return { ctx: new ComponentContext(prefix, entries, problems, ctxLine), problems };
}
