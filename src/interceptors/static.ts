import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Interceptor, InterceptorSpec } from './interceptor.ts';
import { setHeader } from './set-header.ts';

export interface StaticOptions {
  key: string;
  value: string;
  preserveExisting: boolean;
}

/**
 * Flume's `static` interceptor: one fixed header. Note Flume's defaults: the
 * key is literally `key`, the value `value`, and an existing header is kept
 * (`preserveExisting` true). Chain several for several headers.
 */
export const staticInterceptorSpec: InterceptorSpec<StaticOptions> = {
  type: 'static',
  keys: 'key, value, preserveExisting',
  parse(ctx: ComponentContext): StaticOptions {
    return {
      key: ctx.string('key', 'key'),
      value: ctx.string('value', 'value'),
      preserveExisting: ctx.bool('preserveExisting', true),
    };
  },
  create(opts: StaticOptions): Interceptor {
    return {
      intercept: (events: FlumeEvent[]) => setHeader(events, opts.key, opts.value, opts.preserveExisting),
    };
  },
};
