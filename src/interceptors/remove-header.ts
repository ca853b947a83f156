import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Interceptor, InterceptorSpec } from './interceptor.ts';
import { compileJavaRegex, fullMatch, splitNames } from './java-regex.ts';

export interface RemoveHeaderOptions {
  withName?: string;
  fromList?: string[];
  /** Whole-name match, like Java's `matches()`. */
  matching?: RegExp;
}

const EXPECTED_REGEX = 'a regular expression (Java syntax)';

/**
 * Flume's `remove_header` interceptor: removes the header `withName`, the
 * headers named in `fromList` (split by the regex `fromListSeparator`, default
 * `\s*,\s*`), and every header whose whole name matches `matching`. With none
 * of them set it changes nothing. Events that lose a header are new objects
 * with a copied header object; the others pass through as they are.
 */
export const removeHeaderInterceptorSpec: InterceptorSpec<RemoveHeaderOptions> = {
  type: 'remove_header',
  keys: 'withName, fromList, fromListSeparator, matching',
  parse(ctx: ComponentContext): RemoveHeaderOptions {
    const opts: RemoveHeaderOptions = {};
    const withName = ctx.optionalString('withName');
    if (withName !== undefined) opts.withName = withName;
    const sepSource = ctx.string('fromListSeparator', '\\s*,\\s*');
    const sep = compileJavaRegex(sepSource);
    if (!sep.ok) ctx.error('fromListSeparator', sep.error, EXPECTED_REGEX);
    const list = ctx.optionalString('fromList');
    if (list !== undefined && sep.ok) opts.fromList = splitNames(list, sep.value);
    const matching = ctx.optionalString('matching');
    if (matching !== undefined) {
      const re = compileJavaRegex(matching);
      if (re.ok) opts.matching = fullMatch(re.value);
      else ctx.error('matching', re.error, EXPECTED_REGEX);
    }
    return opts;
  },
  create(opts: RemoveHeaderOptions): Interceptor {
    const names = new Set<string>(opts.fromList ?? []);
    if (opts.withName !== undefined) names.add(opts.withName);
    const matching = opts.matching;
    if (names.size === 0 && !matching) return { intercept: (events) => events };
    const removes = matching ? (k: string) => names.has(k) || matching.test(k) : (k: string) => names.has(k);
    return {
      intercept(events: FlumeEvent[]): FlumeEvent[] {
        const out = new Array<FlumeEvent>(events.length);
        for (let i = 0; i < events.length; i++) {
          const e = events[i];
          let hit = false;
          for (const k in e.headers) {
            if (removes(k)) {
              hit = true;
              break;
            }
          }
          if (!hit) {
            out[i] = e;
            continue;
          }
          const headers: Record<string, string> = {};
          for (const k in e.headers) if (!removes(k)) headers[k] = e.headers[k];
          out[i] = { headers, body: e.body };
        }
        return out;
      },
    };
  },
};
