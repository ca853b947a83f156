import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Interceptor, InterceptorSpec } from './interceptor.ts';
import { compileJavaRegex } from './java-regex.ts';

export interface RegexFilterOptions {
  regex: RegExp;
  excludeEvents: boolean;
  /** The pattern is Flume's default `.*`, which finds a (possibly empty) match in every body. */
  matchesAll: boolean;
}

const utf8 = new TextDecoder();

/**
 * Flume's `regex_filter` interceptor: keeps the events whose body contains a
 * match of `regex` (a *find*, not a whole-body match), or drops them with
 * `excludeEvents=true`. Bodies are decoded as UTF-8 (Flume uses the platform
 * charset, UTF-8 on any usual system); malformed bytes become U+FFFD as in Java.
 */
export const regexFilterInterceptorSpec: InterceptorSpec<RegexFilterOptions> = {
  type: 'regex_filter',
  keys: 'regex, excludeEvents',
  parse(ctx: ComponentContext): RegexFilterOptions {
    const source = ctx.string('regex', '.*');
    const excludeEvents = ctx.bool('excludeEvents', false);
    const re = compileJavaRegex(source);
    if (!re.ok) ctx.error('regex', re.error, 'a regular expression (Java syntax)');
    return { regex: re.ok ? re.value : /(?:)/u, excludeEvents, matchesAll: source === '.*' };
  },
  create(opts: RegexFilterOptions): Interceptor {
    const { regex, excludeEvents } = opts;
    if (opts.matchesAll) return { intercept: excludeEvents ? () => [] : (events) => events };
    return {
      intercept(events: FlumeEvent[]): FlumeEvent[] {
        const out: FlumeEvent[] = [];
        for (const e of events) {
          if (regex.test(utf8.decode(e.body)) !== excludeEvents) out.push(e);
        }
        return out;
      },
    };
  },
};
