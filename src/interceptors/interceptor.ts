import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';

/** Transforms (or drops) events between a source and its channels, in listed order. */
export interface Interceptor {
  intercept(events: FlumeEvent[]): FlumeEvent[];
}

export interface InterceptorSpec<O = unknown> {
  readonly type: string;
  readonly keys: string;
  parse(ctx: ComponentContext): O;
  create(opts: O): Interceptor;
}
