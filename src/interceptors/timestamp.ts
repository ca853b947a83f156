import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Interceptor, InterceptorSpec } from './interceptor.ts';
import { setHeader } from './set-header.ts';

export interface TimestampOptions {
  headerName: string;
  preserveExisting: boolean;
}

/**
 * Flume's `timestamp` interceptor: the event's arrival time in epoch millis
 * (decimal string) in `headerName`. Flume reads the clock per event; one batch
 * shares one reading here (same millisecond in practice, one clock call per batch).
 */
export const timestampInterceptorSpec: InterceptorSpec<TimestampOptions> = {
  type: 'timestamp',
  keys: 'headerName, preserveExisting',
  parse(ctx: ComponentContext): TimestampOptions {
    return {
      headerName: ctx.string('headerName', 'timestamp'),
      preserveExisting: ctx.bool('preserveExisting', false),
    };
  },
  create(opts: TimestampOptions): Interceptor {
    return {
      intercept: (events: FlumeEvent[]) => setHeader(events, opts.headerName, String(Date.now()), opts.preserveExisting),
    };
  },
};
