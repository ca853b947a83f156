import { randomUUID } from 'node:crypto';
import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Interceptor, InterceptorSpec } from './interceptor.ts';
import { setHeader } from './set-header.ts';

export interface UuidOptions {
  headerName: string;
  prefix: string;
  preserveExisting: boolean;
}

/**
 * Flume's UUID interceptor (in Flume only by its class name,
 * `org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder`; the alias
 * `uuid` is ours): `prefix` + a random (v4) UUID in `headerName`, kept when the
 * event already has one (`preserveExisting` true), so an id survives hops.
 */
export const uuidInterceptorSpec: InterceptorSpec<UuidOptions> = {
  type: 'uuid',
  keys: 'headerName, prefix, preserveExisting',
  parse(ctx: ComponentContext): UuidOptions {
    return {
      headerName: ctx.string('headerName', 'id'),
      prefix: ctx.string('prefix', ''),
      preserveExisting: ctx.bool('preserveExisting', true),
    };
  },
  create(opts: UuidOptions): Interceptor {
    const prefix = opts.prefix;
    const next = prefix === '' ? () => randomUUID() : () => prefix + randomUUID();
    return {
      intercept: (events: FlumeEvent[]) => setHeader(events, opts.headerName, next, opts.preserveExisting),
    };
  },
};
